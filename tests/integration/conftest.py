"""Fixtures for calling the Lambdas' code in-process against the lab's Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labcore import clients, config, db
from tests_support import app_conninfo


def reset_labcore() -> None:
    """Forget the cached settings and the environment's connection, as a cold start would."""
    if db._connection is not None:
        db._connection.close()
    db._connection = None
    config.db_settings.cache_clear()
    clients.client.cache_clear()


@pytest.fixture
def app_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """labcore configured from DB_* variables (the local fallback) for the app role."""
    info = app_conninfo()
    settings = {
        "DB_HOST": "host",
        "DB_PORT": "port",
        "DB_USER": "user",
        "DB_PASSWORD": "password",
        "DB_NAME": "dbname",
    }
    for name, key in settings.items():
        monkeypatch.setenv(name, str(info[key]))
    for name in ("DB_SECRET_ID", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_labcore()
    yield
    reset_labcore()
