"""Settings: validated at import (cold start) with the variable's name, and the database's precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labcore import config
from labcore.config import ConfigError, LabSettings, db_settings, load

LAMBDAS = Path(config.__file__).resolve().parents[1]  # lambdas/ (src/ in make mutate's staging)
REQUIRED = {"DB_HOST": "db.example", "DB_USER": "app", "DB_PASSWORD": "secret", "DB_NAME": "outbox"}
SECRET = {"host": "secret.host", "port": 7000, "username": "from-secret", "password": "s3", "dbname": "sdb"}
URL = "postgresql://url-user:pw@url.host:6000/urldb"


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


class FakeSecrets:
    """Secrets Manager's GetSecretValue for one secret."""

    def __init__(self, secret_id: str, value: dict[str, Any]) -> None:
        self.secret_id, self.value = secret_id, value

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        assert SecretId == self.secret_id
        return {"SecretString": json.dumps(self.value)}


def use_secret(monkeypatch: pytest.MonkeyPatch, value: dict[str, Any]) -> None:
    monkeypatch.setenv("DB_SECRET_ID", "arn:secret:db")
    monkeypatch.setattr(config, "secrets_client", lambda: FakeSecrets("arn:secret:db", value))


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
    assert settings.from_secret is False
    conninfo = settings.conninfo()
    assert conninfo["connect_timeout"] == 3
    assert conninfo["options"] == "-c statement_timeout=3000"


def test_the_secret_wins_over_the_url_and_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", URL)
    use_secret(monkeypatch, SECRET)
    settings = db_settings()
    assert (settings.host, settings.port, settings.user, settings.password, settings.dbname) == (
        "secret.host",
        7000,
        "from-secret",
        "s3",
        "sdb",
    )
    assert settings.from_secret is True, "a refused password re-fetches only secrets"


def test_the_secret_may_name_its_user_user(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {key: item for key, item in SECRET.items() if key != "username"} | {"user": "aliased"}
    use_secret(monkeypatch, value)
    assert db_settings().user == "aliased"


def test_a_secret_without_a_user_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use_secret(monkeypatch, {key: item for key, item in SECRET.items() if key != "username"})
    with pytest.raises(ConfigError, match="not a JSON database secret"):
        db_settings()


def test_the_url_wins_over_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", URL)
    settings = db_settings()
    assert (settings.host, settings.port, settings.user, settings.password, settings.dbname) == (
        "url.host",
        6000,
        "url-user",
        "pw",
        "urldb",
    )
    assert settings.from_secret is False


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in REQUIRED.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        load(LabSettings)


@pytest.mark.parametrize(
    ("name", "value"), [("DB_PORT", "five"), ("DB_CONNECT_TIMEOUT", "0"), ("DB_STATEMENT_TIMEOUT_MS", "-1")]
)
def test_malformed_number_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    for required, setting in {**REQUIRED, name: value}.items():
        monkeypatch.setenv(required, setting)
    with pytest.raises(ConfigError, match=f"{name}: Input should be"):
        load(LabSettings)


def test_database_url_without_a_host_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql:///outbox")
    with pytest.raises(ConfigError, match="DATABASE_URL lacks host, user"):
        load(LabSettings)


# --- every function validates its settings when its handler is imported (the cold start) ---------------
FUNCTION_ENV = {
    "ping": {},
    "worker": {},
    "projector": {},
    "jobs_api": {"DISPATCHER_FUNCTION": "outbox-lab-dispatcher", "DISPATCH_NUDGE_INTERVAL_S": "1"},
    "events_api": {"DISPATCHER_FUNCTION": "outbox-lab-dispatcher", "DISPATCH_NUDGE_INTERVAL_S": "1"},
    "dispatcher": {
        "TOPIC_QUEUES": '{"conversion-jobs": "outbox-lab-jobs", "car-events": "outbox-lab-car-events.fifo"}',
        "DISPATCH_LINGER_S": "2",
    },
    "payments": {
        "PARTNERS": json.dumps(
            {
                "partner1": {
                    "account_id": "111111111111",
                    "region": "us-east-1",
                    "role_arn": "arn:aws:iam::111111111111:role/outbox-lab-payments-access",
                    "external_id": "lab-partner1",
                    "table_name": "payments",
                }
            }
        ),
        "PAYMENTS_CREDENTIALS_MARGIN_S": "300",
        "PAYMENTS_SESSION_DURATION_S": "3600",
    },
}
WITHOUT_DATABASE = {"payments"}  # extends FunctionSettings, not LabSettings


def test_every_function_is_import_tested() -> None:
    lambdas = Path(config.__file__).resolve().parents[1]  # where the functions are (src/ under make mutate)
    assert set(FUNCTION_ENV) == {path.parent.name for path in lambdas.glob("*/handler.py")}


def import_handler(function: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A cold start: a fresh interpreter imports the handler module with exactly this environment."""
    # MUTANT_UNDER_TEST: under `make mutate` the fresh interpreter imports the mutated code too.
    keep = ("PATH", "HOME", "LANG", "MUTANT_UNDER_TEST")
    clean = {key: os.environ[key] for key in keep if key in os.environ}
    return subprocess.run(
        [sys.executable, "-c", f"import {function}.handler"],
        env={**clean, "PYTHONPATH": str(LAMBDAS), "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("function", sorted(FUNCTION_ENV))
def test_every_handler_imports_with_its_settings(function: str) -> None:
    result = import_handler(function, {"DB_SECRET_ID": "arn:secret:db", **FUNCTION_ENV[function]})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("function", sorted(WITHOUT_DATABASE))
def test_a_function_without_a_database_imports_without_database_settings(function: str) -> None:
    result = import_handler(function, FUNCTION_ENV[function])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("function", sorted(set(FUNCTION_ENV) - WITHOUT_DATABASE))
def test_every_handler_fails_at_import_without_database_settings(function: str) -> None:
    result = import_handler(function, FUNCTION_ENV[function])
    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert "DB_HOST, DB_USER, DB_PASSWORD, DB_NAME required" in result.stderr


@pytest.mark.parametrize(
    ("function", "name", "value", "problem"),
    [
        ("jobs_api", "DISPATCHER_FUNCTION", None, "DISPATCHER_FUNCTION: Field required"),
        ("jobs_api", "DISPATCH_NUDGE_INTERVAL_S", "soon", "DISPATCH_NUDGE_INTERVAL_S: Input should be"),
        ("events_api", "DISPATCHER_FUNCTION", None, "DISPATCHER_FUNCTION: Field required"),
        ("dispatcher", "TOPIC_QUEUES", None, "TOPIC_QUEUES: Field required"),
        ("dispatcher", "TOPIC_QUEUES", "jobs", "TOPIC_QUEUES: must be a JSON object"),
        (
            "dispatcher",
            "TOPIC_QUEUES",
            '{"conversion_jobs": "q"}',
            "exactly the topics ['car-events', 'conversion-jobs']",
        ),
        ("dispatcher", "DISPATCH_BATCH_SIZE", "0", "DISPATCH_BATCH_SIZE: Input should be greater than 0"),
        ("dispatcher", "DISPATCH_LINGER_S", "-1", "DISPATCH_LINGER_S: Input should be greater than or equal"),
        ("dispatcher", "INBOX_RETENTION_HOURS", "never", "INBOX_RETENTION_HOURS: Input should be"),
        ("payments", "PARTNERS", None, "PARTNERS: Field required"),
        ("payments", "PARTNERS", "partner1", "PARTNERS: must be a JSON object"),
        ("payments", "PAYMENTS_SESSION_DURATION_S", "soon", "PAYMENTS_SESSION_DURATION_S: Input should be"),
    ],
)
def test_a_bad_function_setting_fails_the_import_with_its_name(
    function: str, name: str, value: str | None, problem: str
) -> None:
    env = {"DB_SECRET_ID": "arn:secret:db", **FUNCTION_ENV[function]}
    if value is None:
        env.pop(name)
    else:
        env[name] = value
    result = import_handler(function, env)
    assert result.returncode != 0
    assert problem in result.stderr, result.stderr
