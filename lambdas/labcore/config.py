"""Database settings read once per execution environment and validated at cold start."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed."""


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


@dataclass(frozen=True)
class DbSettings:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    connect_timeout_s: int
    statement_timeout_ms: int

    def conninfo(self) -> dict[str, object]:
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


@functools.cache
def db_settings() -> DbSettings:
    return DbSettings(
        host=_require("DB_HOST"),
        port=_int("DB_PORT", 5432),
        user=_require("DB_USER"),
        password=_require("DB_PASSWORD"),
        dbname=_require("DB_NAME"),
        connect_timeout_s=_int("DB_CONNECT_TIMEOUT", 3),
        statement_timeout_ms=_int("DB_STATEMENT_TIMEOUT_MS", 3000),
    )
