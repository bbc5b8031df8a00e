"""The Lambdas' role can run the functions' statements and nothing else: no DDL, no other tables.

Every statement runs on the lab database as `outbox_app` inside a transaction that is rolled back,
so nothing here is ever committed, and the deployed functions never see it. Last, the role's
password, which its creation must not put in the server's log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.rows import DictRow

import migrate
from dispatcher.service import (
    DispatchSettings,
    OutboxMessage,
    PublishFailure,
    dispatch_batch,
    purge_inbox,
    purge_published,
)
from events_api import service as events_service
from integration.events_support import car_event
from jobs_api import service as jobs_service
from jobs_api.models import CreateJobRequest
from lab import postgres, settings
from labcore.outbox import NOTIFY_CHANNEL
from ping import service as ping_service
from projector import service as projector_service
from tests_support import app_conninfo, poll
from worker import service as worker_service

Conn = psycopg.Connection[DictRow]
CAR = "CAR-ROLE-1"


@contextmanager
def rolled_back(conn: Conn) -> Iterator[Conn]:
    with conn.transaction(force_rollback=True):
        yield conn


# Each is refused with InsufficientPrivilege (ownership, a missing grant or a missing column grant).
FORBIDDEN: dict[str, str] = {
    # DDL: the role owns nothing and may create nothing.
    "create table": "CREATE TABLE not_allowed (id int)",
    "create temp table": "CREATE TEMP TABLE not_allowed (id int)",
    "create schema": "CREATE SCHEMA not_allowed",
    "create function": "CREATE FUNCTION not_allowed() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "create index": "CREATE INDEX not_allowed ON outbox (topic)",
    "alter table": "ALTER TABLE conversion_jobs ADD COLUMN not_allowed int",
    "alter table drop constraint": "ALTER TABLE outbox DROP CONSTRAINT outbox_attempts_check",
    "drop table": "DROP TABLE inbox",
    "drop trigger": "DROP TRIGGER outbox_notify ON outbox",
    "truncate outbox": "TRUNCATE outbox",
    "truncate conversion_jobs": "TRUNCATE conversion_jobs",
    "disable trigger": "ALTER TABLE outbox DISABLE TRIGGER outbox_notify",
    "large object": "SELECT lo_create(0)",
    # Tables the functions do not use, or use otherwise.
    "read schema_migrations": "SELECT * FROM schema_migrations",
    "write schema_migrations": "DELETE FROM schema_migrations",
    "read car_event_entities": "SELECT * FROM car_event_entities",
    "delete jobs": "DELETE FROM conversion_jobs",
    "delete car events": "DELETE FROM car_events",
    "delete cars": "DELETE FROM car_entities",
    "update car events": "UPDATE car_events SET body = '{}'",
    "update inbox": "UPDATE inbox SET consumer = 'other'",
    "change a rate": "UPDATE exchange_rates SET rate = 1",
    "add a currency": "INSERT INTO currencies (code, minor_units, name) VALUES ('XTS', 2, 'Test')",
    "delete a currency": "DELETE FROM currencies",
    # Columns no statement of the functions writes.
    "rewrite a job's client": "UPDATE conversion_jobs SET client_id = 'other'",
    "rewrite a job's request hash": "UPDATE conversion_jobs SET request_hash = ''",
    "insert a finished job": "INSERT INTO conversion_jobs (job_id, client_id, source_currency,"
    " target_currency, source_amount, request_hash, status, failure_reason, completed_at)"
    " VALUES (gen_random_uuid(), 'c', 'USD', 'EUR', 1, 'h', 'failed', 'x', now())",
    "rewrite an outbox payload": "UPDATE outbox SET payload = '{}'",
    "redirect an outbox row": "UPDATE outbox SET topic = 'elsewhere'",
    "insert a published outbox row": "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type,"
    " payload, published_at) VALUES ('a', 'b', 'c', 'd', '{}', now())",
    "backdate an inbox key": "INSERT INTO inbox (consumer, message_key, received_at)"
    " VALUES ('c', 'k', now() - interval '1 year')",
    "backdate a stored event": "INSERT INTO car_events (event_id, event_name, event_type, created_date,"
    " saved_date, body, body_hash, received_at) VALUES (gen_random_uuid(), 'n', 't', now(), now(), '{}',"
    " 'h', now())",
    "rewrite a car's key": "UPDATE car_entities SET entity_id = 'other'",
}


@pytest.mark.parametrize("statement", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_the_app_role_is_refused(app_db: Conn, statement: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege), rolled_back(app_db):
        app_db.execute(statement)


def test_the_app_role_has_no_role_attributes(app_db: Conn) -> None:
    role = app_db.execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit"
        " FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert role == {
        "rolsuper": False,
        "rolcreatedb": False,
        "rolcreaterole": False,
        "rolreplication": False,
        "rolbypassrls": False,
        "rolinherit": True,
    }
    member_of = app_db.execute(
        "SELECT count(*) AS n FROM pg_auth_members WHERE member = (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user)"
    ).fetchone()
    assert member_of == {"n": 0}, "no role's privileges come by membership (pg_read_all_data, ...)"


# --- what the functions run still works, through their own code ------------------------------------
class AcceptAll:
    """A publisher that acknowledges every message, or fails them all with `error`."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.seen: list[int] = []

    def publish(self, messages: list[OutboxMessage]) -> list[PublishFailure]:
        self.seen.extend(message.outbox_id for message in messages)
        return [PublishFailure(m.outbox_id, self.error) for m in messages] if self.error else []


def new_job(conn: Conn) -> jobs_service.CreateResult:
    request = CreateJobRequest(
        client_id="role-test",
        source_currency="USD",
        target_currency="EUR",
        source_amount=Decimal("10.00"),
        idempotency_key=f"role-{uuid.uuid4()}",
    )
    return jobs_service.create_job(conn, request, {"correlation_id": "role-test"})


def test_the_jobs_api_and_the_worker_run_as_the_app_role(app_db: Conn) -> None:
    with rolled_back(app_db):
        created = new_job(app_db)
        assert created.created
        job_id = created.job.job_id
        outbox_row = app_db.execute(
            "SELECT payload FROM outbox WHERE aggregate_id = %s", (str(job_id),)
        ).fetchone()
        assert outbox_row is not None
        key = str(uuid.uuid4())
        assert (
            worker_service.apply_message(app_db, "conversion-jobs", key, outbox_row["payload"]) == "completed"
        )
        assert (
            worker_service.apply_message(app_db, "conversion-jobs", key, outbox_row["payload"]) == "duplicate"
        )
        job = jobs_service.get_job(app_db, job_id)
        assert job.status == "completed"
        assert job.target_amount is not None


def test_the_worker_can_fail_a_job_as_the_app_role(app_db: Conn) -> None:
    with rolled_back(app_db):
        job_id = new_job(app_db).job.job_id
        # worker.conversion's UPDATE for a pair without a rate (the seeded rates cover every pair).
        app_db.execute(
            "UPDATE conversion_jobs SET status = 'failed', failure_reason = %s, completed_at = now(),"
            " updated_at = now() WHERE job_id = %s",
            ("no exchange rate for USD->EUR", job_id),
        )
        assert jobs_service.get_job(app_db, job_id).status == "failed"


@pytest.mark.parametrize("outcome", ["published", "parked"])
def test_the_dispatcher_runs_as_the_app_role(app_db: Conn, outcome: str) -> None:
    publisher = AcceptAll(None if outcome == "published" else "queue refused it")
    with rolled_back(app_db):
        job_id = new_job(app_db).job.job_id
        mine = app_db.execute(
            "SELECT outbox_id FROM outbox WHERE aggregate_id = %s", (str(job_id),)
        ).fetchone()
        assert mine is not None
        # Claims every due row, the lab's too: they are released unchanged by the rollback.
        result = dispatch_batch(app_db, publisher, DispatchSettings(batch_size=10_000, max_attempts=1))
        assert mine["outbox_id"] in publisher.seen
        row = app_db.execute(
            "SELECT published_at IS NOT NULL AS published, parked_at IS NOT NULL AS parked, attempts,"
            " last_error FROM outbox WHERE outbox_id = %s",
            (mine["outbox_id"],),
        ).fetchone()
        if outcome == "published":
            assert row == {"published": True, "parked": False, "attempts": 0, "last_error": None}
        else:
            assert row == {
                "published": False,
                "parked": True,
                "attempts": 1,
                "last_error": "queue refused it",
            }
            assert mine["outbox_id"] in result.parked
        assert purge_published(app_db, retention_hours=1e6) == 0
        assert purge_inbox(app_db, retention_hours=1e6) == 0


def test_the_dispatcher_listens_as_the_app_role(app_db: Conn) -> None:
    app_db.execute(f"LISTEN {NOTIFY_CHANNEL}")
    app_db.execute("UNLISTEN *")


def test_the_events_api_and_the_projector_run_as_the_app_role(app_db: Conn) -> None:
    car = f"{CAR}-{uuid.uuid4().hex[:8]}"
    event = car_event(entity_ids=[car])
    with rolled_back(app_db):
        assert events_service.ingest(app_db, [event], {"correlation_id": "role-test"}) == ["created"]
        assert events_service.ingest(app_db, [event], {}) == ["duplicate"]
        message = app_db.execute("SELECT payload FROM outbox WHERE aggregate_id = %s", (car,)).fetchone()
        assert message is not None
        assert projector_service.project(app_db, str(uuid.uuid4()), message["payload"]) == "applied"
        newer: dict[str, Any] = {**message["payload"]}
        newer["entity"] = {
            **newer["entity"],
            "mileage": 99,
            "entityHeader": {**newer["entity"]["entityHeader"], "updatedAt": "2030-01-01T00:00:00Z"},
        }
        assert projector_service.project(app_db, str(uuid.uuid4()), newer) == "applied"  # the UPDATE arm
        assert events_service.get_entity(app_db, car)["mileage"] == 99
        events_service.check_database(app_db)


def test_ping_runs_as_the_app_role(app_db: Conn) -> None:
    assert ping_service.ping(app_db)["database"]["user"] == "outbox_app"


# --- the role's password never reaches the server's log ---------------------------------------------
def test_bootstrap_keeps_the_password_out_of_a_ddl_log(monkeypatch: pytest.MonkeyPatch) -> None:
    log = postgres.log_file()
    if not log.is_file():
        pytest.skip("Postgres logs to a file of the lab's in native mode only (Docker: the container's)")
    password = str(app_conninfo()["password"])
    # libpq passes PGOPTIONS on: bootstrap's sessions log every DDL statement, as audited servers do.
    monkeypatch.setenv("PGOPTIONS", "-c log_statement=ddl")
    start = log.stat().st_size
    migrate.bootstrap(settings.DB_NAME, settings.APP_DB_USER, password)

    def logged() -> str | None:
        with log.open("rb") as file:
            file.seek(start)
            text = file.read().decode(errors="replace")
        return text if "ALTER ROLE" in text else None

    text = poll(logged, timeout=10, what="bootstrap's ALTER ROLE in the Postgres log")
    assert password not in text
    monkeypatch.delenv("PGOPTIONS")  # the role may not set log_statement
    with psycopg.connect(**app_conninfo()) as conn:  # and still logs in with its password
        assert conn.execute("SELECT current_user").fetchone() == ("outbox_app",)
