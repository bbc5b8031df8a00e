"""Fixtures shared by every layer of tests: where the lab is and clients for it.

Everything is found through the environment (LOCALSTACK_ENDPOINT, LAB_PG_HOST/PORT/PASSWORD,
LAB_DB_NAME) and, for the deployed stack, `terraform output -json` through scripts/lab.py, so
the same suite runs against the native and the Docker stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder, so `-m` selects a layer."""
    for item in items:
        for layer in ("integration", "e2e"):
            if f"{os.sep}{layer}{os.sep}" in str(item.path):
                item.add_marker(getattr(pytest.mark, layer))


def poll[T](
    fetch: Callable[[], T | None], *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"
) -> T:
    """Call fetch until it returns something truthy; fail with `what` when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def endpoint() -> str:
    return os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")


@pytest.fixture(scope="session")
def aws(endpoint: str) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]

    return client


def admin_conninfo(dbname: str | None = None) -> dict[str, Any]:
    return {
        "host": os.environ.get("LAB_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("LAB_PG_PORT", "15432")),
        "user": os.environ.get("LAB_PG_USER", "postgres"),
        "password": os.environ.get("LAB_PG_PASSWORD", "postgres"),
        "dbname": dbname or os.environ.get("LAB_DB_NAME", "outbox"),
        "connect_timeout": 5,
    }


def app_conninfo() -> dict[str, Any]:
    return {
        **admin_conninfo(),
        "user": os.environ.get("LAB_APP_DB_USER", "outbox_app"),
        "password": os.environ.get("LAB_APP_DB_PASSWORD", "outbox_app"),
    }


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
    if path := os.environ.get("LAB_OUTPUTS_JSON"):
        return dict(json.loads(Path(path).read_text()))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lab.py"), "outputs"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"no deployed lab (run `make up apply`): {result.stderr.strip()}")
    return dict(json.loads(result.stdout))
