"""The database password stays out of what gets logged: settings reprs and a bad secret's error."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest

from labcore import config
from labcore.config import ConfigError, LabSettings, db_settings, load

PASSWORD = "pw-7d1c-never-logged"  # a fake, looked for in the output
SECRET = {"host": "db.host", "port": 5432, "username": "app", "password": PASSWORD, "dbname": "outbox"}


class FakeSecrets:
    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        return {"SecretString": json.dumps(self.value)}


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    db_settings.cache_clear()
    for name in ("DB_HOST", "DB_USER", "DB_PASSWORD", "DB_NAME", "DB_SECRET_ID", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def logged(exc: BaseException) -> str:
    """What logger.exception writes: the message and the traceback, chained exceptions included."""
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize("missing", ["dbname", "host", "username"])
def test_a_malformed_secret_is_reported_without_its_password(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("DB_SECRET_ID", "arn:secret:db")
    value = {key: item for key, item in SECRET.items() if key != missing}
    monkeypatch.setattr(config, "secrets_client", lambda: FakeSecrets(value))
    with pytest.raises(ConfigError) as raised:
        db_settings()
    assert f"{missing}: Field required" in str(raised.value), "the problem is still named"
    assert PASSWORD not in logged(raised.value)


def test_settings_reprs_leave_the_password_out(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DB_HOST": "h", "DB_USER": "u", "DB_PASSWORD": PASSWORD, "DB_NAME": "d"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:{PASSWORD}@h/d")
    settings = load(LabSettings)
    resolved = db_settings()
    assert resolved.password == PASSWORD, "the password is still there to connect with"
    for shown in (repr(settings), str(settings), repr(resolved), str(resolved)):
        assert PASSWORD not in shown
    assert "host='h'" in repr(resolved), "the rest is still shown"


def test_the_secret_document_repr_leaves_the_password_out() -> None:
    secret = config.DbSecret.model_validate(SECRET)
    assert secret.password == PASSWORD
    assert PASSWORD not in repr(secret)
    assert "db.host" in repr(secret), "the rest is still shown"
