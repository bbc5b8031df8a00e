"""Fixtures shared by every layer of tests: where the lab is and clients for it.

Everything is found through the environment (LOCALSTACK_ENDPOINT, LAB_PG_HOST/PORT/PASSWORD,
LAB_DB_NAME) and, for the deployed stack, `terraform output -json` through the lab package, so
the same suite runs against the native and the Docker stack.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

import labtools
from lab import stack
from labtools import aws_client
from tests_support import admin_conninfo, app_conninfo

ROOT = Path(__file__).resolve().parent.parent


# Tests of what only one mode runs, by path (files other helpers own stay untouched): the native
# Lambda executor and its layers, and moto's DynamoDB, which only native mode serves.
NATIVE_ONLY = (
    "localstack-native/tests/test_lambda_executor.py",
    "localstack-native/tests/test_dynamodb.py",
)
MODE_MARKERS = {"native": "native_only", "docker": "docker_only"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder, so `-m` selects a layer; deselect the other mode's tests."""
    for item in items:
        for layer in ("integration", "e2e"):
            if f"{os.sep}{layer}{os.sep}" in str(item.path):
                item.add_marker(getattr(pytest.mark, layer))
        if item.path.is_relative_to(ROOT) and item.path.relative_to(ROOT).as_posix() in NATIVE_ONLY:
            item.add_marker(pytest.mark.native_only)
    items[:] = select_for_mode(config, items, stack.current_mode())


def select_for_mode(config: pytest.Config, items: list[pytest.Item], mode: str | None) -> list[pytest.Item]:
    """The items that make sense in the mode the lab is up in (all of them when it is not up).

    The others are reported as deselected, never run, skipped or counted as passed.
    """
    others = {marker for name, marker in MODE_MARKERS.items() if name != mode} if mode else set()
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if any(item.get_closest_marker(marker) for marker in others) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    return kept


@pytest.fixture(scope="session")
def endpoint() -> str:
    return labtools.endpoint()


@pytest.fixture(scope="session")
def aws(endpoint: str) -> Callable[[str], Any]:
    return aws_client


@pytest.fixture
def admin_db() -> Iterator[psycopg.Connection[DictRow]]:
    """A superuser connection to the lab database (autocommit), for checking what the code wrote."""
    with psycopg.connect(**admin_conninfo(), autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def app_db() -> Iterator[psycopg.Connection[DictRow]]:
    """A connection as the Lambdas' least-privilege role (autocommit, as labcore.db opens it)."""
    with psycopg.connect(**app_conninfo(), autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture(scope="session")
def outputs() -> dict[str, Any]:
    """Terraform outputs of the deployed lab (LAB_OUTPUTS_JSON overrides, e.g. for another stack)."""
    try:
        return labtools.outputs()
    except labtools.NotDeployed as exc:
        pytest.fail(f"no deployed lab (run `make up apply`): {exc}")
