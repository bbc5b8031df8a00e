"""A database of the dispatcher tests' own: the deployed dispatcher must not race them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

import migrate
from tests_support import admin_conninfo, app_conninfo


@pytest.fixture(scope="module")
def dispatch_db() -> Iterator[str]:
    """A fresh database with the lab's migrations, dropped afterwards."""
    with migrate.scratch_database("outbox_dispatch_test") as name:
        yield name


@pytest.fixture
def connect(dispatch_db: str) -> Iterator[Callable[[], psycopg.Connection[DictRow]]]:
    """Connections as the app role to the test database; all closed afterwards."""
    opened: list[psycopg.Connection[DictRow]] = []

    def open_one() -> psycopg.Connection[DictRow]:
        conn = psycopg.connect(
            **{**app_conninfo(), "dbname": dispatch_db}, autocommit=True, row_factory=dict_row
        )
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


@pytest.fixture
def admin(dispatch_db: str) -> Iterator[psycopg.Connection[DictRow]]:
    with psycopg.connect(**admin_conninfo(dispatch_db), autocommit=True, row_factory=dict_row) as conn:
        conn.execute("TRUNCATE outbox")
        yield conn
