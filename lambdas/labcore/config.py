"""Database settings, read once per execution environment and validated at first use.

Credentials come from Secrets Manager (DB_SECRET_ID: a JSON secret with host, port, username,
password, dbname, as RDS writes them); for local runs, DATABASE_URL or DB_HOST/DB_PORT/DB_USER/
DB_PASSWORD/DB_NAME. Timeouts: DB_CONNECT_TIMEOUT (s) and DB_STATEMENT_TIMEOUT_MS, 3 s each.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def _require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required")
    return value


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from exc


class DbSecret(BaseModel):
    """The JSON document stored in the secret."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    host: str
    port: int = 5432
    username: str = Field(validation_alias=AliasChoices("username", "user"))
    password: str
    dbname: str


@dataclass(frozen=True)
class DbSettings:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    connect_timeout_s: int
    statement_timeout_ms: int
    from_secret: bool = False

    def conninfo(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": self.connect_timeout_s,
            "options": f"-c statement_timeout={self.statement_timeout_ms}",
            "application_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "outbox-lab"),
        }


def secrets_client() -> Any:
    from labcore.clients import client  # deferred: only environments with a secret pay for boto3

    return client("secretsmanager")


def fetch_secret(secret_id: str) -> DbSecret:
    raw = secrets_client().get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        return DbSecret.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"secret {secret_id} is not a JSON database secret: {exc}") from exc


class _Timeouts(TypedDict):
    connect_timeout_s: int
    statement_timeout_ms: int


@functools.cache
def db_settings() -> DbSettings:
    """The settings, cached; `db_settings.cache_clear()` makes the next call fetch the secret again."""
    timeouts = _Timeouts(
        connect_timeout_s=_int("DB_CONNECT_TIMEOUT", 3),
        statement_timeout_ms=_int("DB_STATEMENT_TIMEOUT_MS", 3000),
    )
    if secret_id := os.environ.get("DB_SECRET_ID", "").strip():
        secret = fetch_secret(secret_id)
        return DbSettings(
            host=secret.host,
            port=secret.port,
            user=secret.username,
            password=secret.password,
            dbname=secret.dbname,
            from_secret=True,
            **timeouts,
        )
    if url := os.environ.get("DATABASE_URL", "").strip():
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(url)
        missing = [key for key in ("host", "user", "dbname") if not params.get(key)]
        if missing:
            raise ConfigError(f"DATABASE_URL lacks {', '.join(missing)}")
        return DbSettings(
            host=str(params["host"]),
            port=int(params.get("port") or 5432),
            user=str(params["user"]),
            password=str(params.get("password") or ""),
            dbname=str(params["dbname"]),
            **timeouts,
        )
    return DbSettings(
        host=_require("DB_HOST"),
        port=_int("DB_PORT", 5432),
        user=_require("DB_USER"),
        password=_require("DB_PASSWORD"),
        dbname=_require("DB_NAME"),
        **timeouts,
    )
