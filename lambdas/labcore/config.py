"""Settings of the lab's Lambdas: pydantic-settings models read from the environment at cold start.

Every function's settings model extends `LabSettings` (the database settings), or `FunctionSettings`
for a function without a database, and is loaded with `load()` when its handler module is imported,
so a missing or malformed variable fails the cold start with the variable's name. Database
credentials come from Secrets Manager (DB_SECRET_ID: a JSON secret as RDS writes it); for local
runs, DATABASE_URL or DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/DB_NAME, in that order of precedence.
TLS: DB_SSLMODE (libpq's sslmode; unset leaves libpq's default) and DB_SSLROOTCERT (the CA bundle,
required by verify-ca and verify-full; a relative path is taken from this package's folder, where
the build ships it in the layer).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, TypedDict

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DB_FIELDS_REQUIRED = ("db_host", "db_user", "db_password", "db_name")
PACKAGE_DIR = Path(__file__).resolve().parent
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def json_object(of: str) -> BeforeValidator:
    """Parses a setting the environment holds as JSON text, naming what it must be when malformed:
    `Annotated[dict[str, str], NoDecode, json_object("topic -> queue name")]` (NoDecode: pydantic-settings
    leaves the text to this validator and its message)."""

    def parse(raw: object) -> object:
        try:
            return json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            raise ValueError(f"must be a JSON object of {of}") from exc

    return BeforeValidator(parse)


class FunctionSettings(BaseSettings):
    """How every function reads its settings: frozen, from the environment, blank meaning unset."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", str_strip_whitespace=True, env_ignore_empty=True
    )


class LabSettings(FunctionSettings):
    """The database settings of every function with a database; its own settings extend this model."""

    db_secret_id: str | None = None
    database_url: str | None = Field(default=None, repr=False)  # may hold the password
    db_host: str | None = None
    db_port: PositiveInt = 5432
    db_user: str | None = None
    db_password: str | None = Field(default=None, repr=False)
    db_name: str | None = None
    db_connect_timeout: PositiveInt = 3  # seconds
    db_statement_timeout_ms: PositiveInt = 3000
    db_sslmode: SslMode | None = None
    db_sslrootcert: str | None = None

    @field_validator("db_sslrootcert")
    @classmethod
    def _existing_bundle(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = PACKAGE_DIR / value  # an absolute value stays as it is
        if not path.is_file():
            raise ValueError(f"no CA bundle at {path}")
        return str(path)

    @model_validator(mode="after")
    def _verifiable_tls(self) -> Self:
        if self.db_sslmode in ("verify-ca", "verify-full") and not self.db_sslrootcert:
            # libpq would look for ~/.postgresql/root.crt, which no Lambda has: fail at cold start.
            raise ValueError(f"DB_SSLMODE {self.db_sslmode} needs DB_SSLROOTCERT (the CA bundle)")
        return self

    @model_validator(mode="after")
    def _one_complete_source(self) -> Self:
        if self.db_secret_id:
            return self
        if self.database_url:
            _url_params(self.database_url)  # raises with what the URL lacks
            return self
        missing = [name.upper() for name in DB_FIELDS_REQUIRED if not getattr(self, name)]
        if missing:
            raise ValueError(
                f"{', '.join(missing)} required (or DB_SECRET_ID, or DATABASE_URL): no database settings"
            )
        return self


def load[S: BaseSettings](model: type[S]) -> S:
    """The settings from the environment; a problem is a ConfigError naming each variable."""
    try:
        return model()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            variable = "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{variable}: {message}" if variable else message)
        raise ConfigError(f"invalid settings ({'; '.join(problems)})") from exc


def _url_params(url: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError; the URL itself may hold the password
        raise ValueError("DATABASE_URL is not a valid connection URL") from exc
    missing = [key for key in ("host", "user", "dbname") if not params.get(key)]
    if missing:
        raise ValueError(f"DATABASE_URL lacks {', '.join(missing)}")
    return params


class DbSecret(BaseModel):
    """The JSON document stored in the secret."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    host: str
    port: int = 5432
    username: str = Field(validation_alias=AliasChoices("username", "user"))
    password: str = Field(repr=False)
    dbname: str


@dataclass(frozen=True)
class DbSettings:
    """Where and as whom to connect, resolved from the secret, the URL or the DB_* variables."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    connect_timeout_s: int
    statement_timeout_ms: int
    from_secret: bool = False
    sslmode: str | None = None
    sslrootcert: str | None = None

    def conninfo(self) -> dict[str, Any]:
        tls = {"sslmode": self.sslmode, "sslrootcert": self.sslrootcert}
        return {key: value for key, value in tls.items() if value} | {
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
        document = json.loads(raw)
    except ValueError as exc:  # the decoder's message gives a position, never the text
        raise ConfigError(f"secret {secret_id} is not a JSON database secret: {exc}") from exc
    try:
        return DbSecret.model_validate(document)
    except ValidationError as exc:
        # Neither its message nor the chained error: pydantic's own text quotes the password.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'secret'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"secret {secret_id} is not a JSON database secret ({problems})") from None


class _Connection(TypedDict):
    connect_timeout_s: int
    statement_timeout_ms: int
    sslmode: str | None
    sslrootcert: str | None


def resolve(settings: LabSettings) -> DbSettings:
    """The credentials: DB_SECRET_ID wins over DATABASE_URL, which wins over the DB_* variables."""
    connection = _Connection(
        connect_timeout_s=settings.db_connect_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        sslmode=settings.db_sslmode,
        sslrootcert=settings.db_sslrootcert,
    )
    if settings.db_secret_id:
        secret = fetch_secret(settings.db_secret_id)
        return DbSettings(
            host=secret.host,
            port=secret.port,
            user=secret.username,
            password=secret.password,
            dbname=secret.dbname,
            from_secret=True,
            **connection,
        )
    if settings.database_url:
        params = _url_params(settings.database_url)
        return DbSettings(
            host=str(params["host"]),
            port=int(params.get("port") or 5432),
            user=str(params["user"]),
            password=str(params.get("password") or ""),
            dbname=str(params["dbname"]),
            **connection,
        )
    assert settings.db_host and settings.db_user and settings.db_password and settings.db_name  # validated
    return DbSettings(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.db_user,
        password=settings.db_password,
        dbname=settings.db_name,
        **connection,
    )


@functools.cache
def db_settings() -> DbSettings:
    """The credentials, cached; `db_settings.cache_clear()` makes the next call fetch the secret again."""
    return resolve(load(LabSettings))
