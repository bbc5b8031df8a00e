"""Shared by the dev-venv scripts, benchmarks and tests: LocalStack clients, outputs, Postgres settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent


class NotDeployed(RuntimeError):
    """`terraform output` has nothing: the lab is not up, or not applied."""


def endpoint() -> str:
    return os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")


def aws_client(service: str) -> Any:
    """A boto3 client for LocalStack (its fixed test credentials)."""
    session = boto3.session.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (LocalStack's documented dummy credentials)
        region_name="us-east-1",
    )
    return session.client(service, endpoint_url=endpoint())  # type: ignore[call-overload]


def outputs() -> dict[str, Any]:
    """Terraform outputs of the deployed lab; LAB_OUTPUTS_JSON names a file to use instead."""
    if path := os.environ.get("LAB_OUTPUTS_JSON"):
        return dict(json.loads(Path(path).read_text()))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lab.py"), "outputs"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise NotDeployed(result.stderr.strip() or "no Terraform outputs: run `make up apply`")
    return dict(json.loads(result.stdout))


def admin_conninfo(dbname: str | None = None) -> dict[str, Any]:
    """The lab's Postgres as its superuser (migrations, tests, tools)."""
    return {
        "host": os.environ.get("LAB_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("LAB_PG_PORT", "15432")),
        "user": os.environ.get("LAB_PG_USER", "postgres"),
        "password": os.environ.get("LAB_PG_PASSWORD", "postgres"),
        "dbname": dbname or os.environ.get("LAB_DB_NAME", "outbox"),
        "connect_timeout": 5,
    }


def app_conninfo() -> dict[str, Any]:
    """The same database as the Lambdas' least-privilege role."""
    return {
        **admin_conninfo(),
        "user": "outbox_app",
        "password": os.environ.get("LAB_APP_DB_PASSWORD", "outbox_app"),
    }
