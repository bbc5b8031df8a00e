"""Fixtures for the plugins' tests: the executor's integration tests drive a running LocalStack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import labtools


@pytest.fixture(scope="session")
def aws() -> Callable[[str], Any]:
    return labtools.aws_client
