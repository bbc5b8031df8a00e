"""Credentials from Secrets Manager (LocalStack), fetched once and again after a rotation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import DictRow

from integration.conftest import reset_labcore
from labcore import config, db
from tests_support import admin_conninfo


@pytest.fixture
def probe_role(admin_db: psycopg.Connection[DictRow]) -> Iterator[str]:
    """A throwaway login role, so rotating its password disturbs nobody."""
    role = f"rotation_probe_{uuid.uuid4().hex[:8]}"
    admin_db.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'first-password'").format(sql.Identifier(role)))
    yield role
    reset_labcore()
    admin_db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    admin_db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def secret(
    probe_role: str, aws: Callable[[str], Any], endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    info = admin_conninfo()
    value = {
        "engine": "postgres",
        "host": info["host"],
        "port": info["port"],
        "username": probe_role,
        "password": "first-password",
        "dbname": info["dbname"],
    }
    client = aws("secretsmanager")
    arn = client.create_secret(Name=f"outbox-lab-test/{probe_role}", SecretString=json.dumps(value))["ARN"]
    for name, setting in {
        "DB_SECRET_ID": arn,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, setting)
    reset_labcore()
    yield arn
    client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_credentials_come_from_the_secret(secret: str, probe_role: str) -> None:
    settings = config.db_settings()
    assert (settings.user, settings.from_secret) == (probe_role, True)
    row = db.connection().execute("SELECT current_user AS user").fetchone()
    assert row == {"user": probe_role}


def test_rotated_password_is_fetched_again_once(
    secret: str,
    probe_role: str,
    aws: Callable[[str], Any],
    admin_db: psycopg.Connection[DictRow],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = db.connection()
    assert first.execute("SELECT 1 AS ok").fetchone() == {"ok": 1}

    # Rotation: the role gets a new password and the secret follows; the old connection drops.
    admin_db.execute(sql.SQL("ALTER ROLE {} PASSWORD 'second-password'").format(sql.Identifier(probe_role)))
    current = json.loads(aws("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
    aws("secretsmanager").put_secret_value(
        SecretId=secret, SecretString=json.dumps({**current, "password": "second-password"})
    )
    admin_db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (probe_role,)
    )

    fetches: list[str] = []
    original_fetch = config.fetch_secret

    def counting_fetch(secret_id: str) -> config.DbSecret:
        fetches.append(secret_id)
        return original_fetch(secret_id)

    monkeypatch.setattr(config, "fetch_secret", counting_fetch)
    row = db.run_in_transaction(lambda conn: conn.execute("SELECT current_user AS user").fetchone())
    assert row == {"user": probe_role}
    assert fetches == [secret], "the secret is fetched again exactly once after the refusal"
    assert config.db_settings().password == "second-password"


def test_a_secret_that_is_not_a_database_secret_is_a_config_error(
    secret: str, aws: Callable[[str], Any]
) -> None:
    aws("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps({"host": "only"}))
    reset_labcore()
    with pytest.raises(config.ConfigError, match="not a JSON database secret"):
        config.db_settings()
