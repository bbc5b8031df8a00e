"""What /ping reports: the database answers, and which psycopg implementation is loaded."""

from __future__ import annotations

import platform
from typing import Any

import psycopg
from psycopg.rows import DictRow


def ping(conn: psycopg.Connection[DictRow]) -> dict[str, Any]:
    row = conn.execute(
        "SELECT current_user AS db_user, current_setting('server_version') AS version"
    ).fetchone()
    assert row is not None
    return {
        "status": "ok",
        "database": {"user": row["db_user"], "server_version": row["version"]},
        "psycopg": {"version": psycopg.__version__, "impl": psycopg.pq.__impl__},
        "python": platform.python_version(),
    }
