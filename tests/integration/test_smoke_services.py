"""The smoke functions' services and handlers in-process, against the lab's Postgres."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from labcore import db
from ping import service as ping_service
from smoke_worker import handler as smoke_handler
from smoke_worker import service as smoke_service
from tests_support import lambda_context, sqs_event


def test_ping_reports_database_and_driver(app_db: psycopg.Connection[DictRow]) -> None:
    report = ping_service.ping(app_db)
    assert report["status"] == "ok"
    assert report["database"]["user"] == "outbox_app"
    assert report["database"]["server_version"].startswith(("15", "16", "17"))
    assert report["psycopg"]["impl"] == "binary"


def test_record_message_is_idempotent(
    app_db: psycopg.Connection[DictRow], admin_db: psycopg.Connection[DictRow]
) -> None:
    message_id = str(uuid.uuid4())
    assert smoke_service.record_message(app_db, message_id, "first") is True
    assert smoke_service.record_message(app_db, message_id, "again") is False
    rows = admin_db.execute("SELECT body FROM smoke_messages WHERE message_id = %s", (message_id,)).fetchall()
    assert rows == [{"body": "first"}]


def test_run_in_transaction_rolls_back_on_error(
    app_environment: None, admin_db: psycopg.Connection[DictRow]
) -> None:
    message_id = str(uuid.uuid4())

    def fail_after_insert(conn: psycopg.Connection[DictRow]) -> None:
        smoke_service.record_message(conn, message_id, "never committed")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        db.run_in_transaction(fail_after_insert)
    assert (
        admin_db.execute("SELECT 1 FROM smoke_messages WHERE message_id = %s", (message_id,)).fetchone()
        is None
    )


def test_broken_connection_is_replaced(app_environment: None) -> None:
    first = db.connection()
    first.close()
    assert db.run_in_transaction(lambda conn: conn.execute("SELECT 1 AS one").fetchone()) == {"one": 1}
    assert db.connection() is not first


def test_worker_reports_only_the_failed_record(
    app_environment: None, admin_db: psycopg.Connection[DictRow]
) -> None:
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    # Postgres text cannot hold NUL: that record fails inside the database, the other must still land.
    event: dict[str, Any] = sqs_event([(good, "fine"), (bad, "broken\x00body")])
    response = smoke_handler.handler(event, lambda_context("smoke-worker"))
    assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
    rows = admin_db.execute(
        "SELECT message_id FROM smoke_messages WHERE message_id = ANY(%s)", ([good, bad],)
    ).fetchall()
    assert rows == [{"message_id": good}]
