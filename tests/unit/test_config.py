"""Database settings: validated at cold start, with the variable's name in the error."""

from __future__ import annotations

import pytest

from labcore.config import ConfigError, db_settings

REQUIRED = {"DB_HOST": "db.example", "DB_USER": "app", "DB_PASSWORD": "secret", "DB_NAME": "outbox"}


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    db_settings.cache_clear()
    for name in [
        *REQUIRED,
        "DB_PORT",
        "DB_CONNECT_TIMEOUT",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_SECRET_ID",
        "DATABASE_URL",
    ]:
        monkeypatch.delenv(name, raising=False)


def test_settings_from_environment_with_bounded_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**REQUIRED, "DB_PORT": "6543"}.items():
        monkeypatch.setenv(name, value)
    settings = db_settings()
    assert (settings.host, settings.port, settings.user, settings.dbname) == (
        "db.example",
        6543,
        "app",
        "outbox",
    )
    conninfo = settings.conninfo()
    assert conninfo["connect_timeout"] == 3
    assert conninfo["options"] == "-c statement_timeout=3000"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in REQUIRED.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        db_settings()


def test_malformed_integer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**REQUIRED, "DB_PORT": "five"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="DB_PORT must be an integer"):
        db_settings()


def test_database_url_is_the_local_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db.internal:6000/outbox")
    settings = db_settings()
    assert (settings.host, settings.port, settings.user, settings.password, settings.dbname) == (
        "db.internal",
        6000,
        "app",
        "pw",
        "outbox",
    )
    assert settings.from_secret is False


def test_database_url_without_a_host_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql:///outbox")
    with pytest.raises(ConfigError, match="DATABASE_URL lacks host, user"):
        db_settings()
