"""One lazily opened psycopg connection per execution environment, replaced when it breaks.

Driver connection errors leave this module as `labcore.errors.Unavailable`.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from aws_lambda_powertools import Logger
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from labcore.config import db_settings
from labcore.errors import Unavailable

logger = Logger(child=True)
_connection: psycopg.Connection[DictRow] | None = None


def _open() -> psycopg.Connection[DictRow]:
    settings = db_settings()
    try:
        return psycopg.connect(**settings.conninfo(), autocommit=True, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        # The server asked for the password and refused it: the secret may have been rotated.
        refused = exc.pgconn is not None and exc.pgconn.used_password
        if not (refused and settings.from_secret):
            raise
    logger.warning("database refused the password: fetching the secret again")
    db_settings.cache_clear()
    return psycopg.connect(**db_settings().conninfo(), autocommit=True, row_factory=dict_row)


def connection() -> psycopg.Connection[DictRow]:
    """The environment's connection, opened on first use and reopened if closed or broken."""
    global _connection
    if _connection is None or _connection.closed or _connection.broken:
        _connection = _open()
    return _connection


def _live_connection() -> psycopg.Connection[DictRow]:
    try:
        return connection()
    except psycopg.OperationalError as exc:  # no server, or it refused us: not worth a second try
        raise Unavailable("the database is unavailable") from exc


def run_in_transaction[T](work: Callable[[psycopg.Connection[DictRow]], T]) -> T:
    """Run `work` in one transaction on the environment's connection.

    A connection that turns out dead when the transaction begins (the server restarted, an idle
    timeout) is replaced and the work runs once more; once the work has started, nothing is retried.
    """
    for attempt in (1, 2):
        conn = _live_connection()
        began = False
        try:
            with conn.transaction():
                began = True
                return work(conn)
        except psycopg.OperationalError as exc:
            if began or attempt == 2:
                raise Unavailable("the database is unavailable") from exc
            logger.warning("database connection was dead: reconnecting once")
    raise AssertionError("unreachable")


def listen(channel: str) -> psycopg.Connection[DictRow]:
    """The environment's connection, LISTENing on `channel` (registered when its transaction commits).

    Through run_in_transaction, so a dead connection is replaced once, as for any other work. LISTEN
    is idempotent: calling this again on a connection that already listens costs one round trip.
    """
    statement = sql.SQL("LISTEN {}").format(sql.Identifier(channel))
    run_in_transaction(lambda conn: conn.execute(statement))
    return connection()
