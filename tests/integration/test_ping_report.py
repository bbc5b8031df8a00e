"""What /ping reports about the runtime: the exact keys a caller reads."""

from __future__ import annotations

import platform

import psycopg
from psycopg.rows import DictRow

from ping import service


def test_ping_names_the_driver_version_and_the_python_version(app_db: psycopg.Connection[DictRow]) -> None:
    report = service.ping(app_db)
    assert set(report) == {"status", "database", "psycopg", "python"}
    assert report["psycopg"] == {"version": psycopg.__version__, "impl": psycopg.pq.__impl__}
    assert report["python"] == platform.python_version()
