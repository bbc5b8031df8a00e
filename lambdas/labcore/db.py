"""One lazily opened psycopg connection per execution environment, replaced when it breaks."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.rows import DictRow, dict_row

from labcore.config import db_settings

_connection: psycopg.Connection[DictRow] | None = None


def connection() -> psycopg.Connection[DictRow]:
    """The environment's connection, opened on first use and reopened if closed or broken."""
    global _connection
    if _connection is None or _connection.closed or _connection.broken:
        _connection = psycopg.connect(**db_settings().conninfo(), autocommit=True, row_factory=dict_row)  # type: ignore[arg-type]
    return _connection


def run_in_transaction[T](work: Callable[[psycopg.Connection[DictRow]], T]) -> T:
    """Run `work` in one transaction; retried once on a dropped connection (nothing was committed)."""
    for attempt in (1, 2):
        conn = connection()
        try:
            with conn.transaction():
                return work(conn)
        except psycopg.OperationalError:
            if attempt == 2 or not conn.broken:
                raise
    raise AssertionError("unreachable")
