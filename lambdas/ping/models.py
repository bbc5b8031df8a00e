"""What GET /ping answers (documented in the OpenAPI document; ping.service writes this shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseReport(_Model):
    user: str
    server_version: str


class PsycopgReport(_Model):
    version: str
    impl: Literal["python", "c", "binary"]


class PingReport(_Model):
    status: Literal["ok"]
    database: DatabaseReport
    psycopg: PsycopgReport
    python: str
