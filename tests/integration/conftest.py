"""Fixtures for calling the Lambdas' code in-process against the lab's Postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from labcore import clients, config, db
from tests_support import app_conninfo

# The handlers validate their settings at import, as on a cold start: give them what Terraform
# gives the deployed functions (tests then point the database settings where they need them).
DB_VARIABLES = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_USER": "user",
    "DB_PASSWORD": "password",
    "DB_NAME": "dbname",
}
FUNCTION_SETTINGS = {
    "DISPATCHER_FUNCTION": "outbox-lab-dispatcher",
    "TOPIC_QUEUES": '{"conversion-jobs": "outbox-lab-jobs"}',
}
if not any(os.environ.get(name) for name in ("DB_SECRET_ID", "DATABASE_URL", "DB_HOST")):
    os.environ.update({name: str(app_conninfo()[key]) for name, key in DB_VARIABLES.items()})
for _name, _value in FUNCTION_SETTINGS.items():
    os.environ.setdefault(_name, _value)


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
    for name, key in DB_VARIABLES.items():
        monkeypatch.setenv(name, str(info[key]))
    for name in ("DB_SECRET_ID", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_labcore()
    yield
    reset_labcore()
