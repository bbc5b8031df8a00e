"""The worker in-process against the lab's Postgres: once-only effects, outcomes, partial failures."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from tests_support import admin_conninfo, lambda_context, row_locked, sqs_event
from worker import handler as worker_handler

pytestmark = pytest.mark.usefixtures("app_environment")


def create_job(source: str = "USD", target: str = "EUR", amount: str = "100.00") -> str:
    """A queued job without an outbox row: only this test's messages can reach it (the deployed
    dispatcher and worker share the database and would otherwise race the test)."""
    job_id = str(uuid.uuid4())
    with psycopg.connect(**admin_conninfo(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO conversion_jobs (job_id, client_id, source_currency, target_currency,"
            " source_amount, request_hash) VALUES (%s, %s, %s, %s, %s, 'worker-test')",
            (job_id, f"worker-{uuid.uuid4().hex[:8]}", source, target, Decimal(amount)),
        )
    return job_id


def record(
    job_id: str | None = None, *, body: str | None = None, outbox_id: str | None = None
) -> dict[str, Any]:
    """An SQS record as the dispatcher publishes it (attributes included)."""
    message = sqs_event([(str(uuid.uuid4()), body if body is not None else f'{{"job_id": "{job_id}"}}')])
    item = message["Records"][0]
    item["messageAttributes"] = {
        "topic": {"stringValue": "conversion-jobs", "dataType": "String"},
        "event_type": {"stringValue": "conversion_job.created", "dataType": "String"},
        "outbox_id": {"stringValue": outbox_id or str(uuid.uuid4().int % 10**12), "dataType": "Number"},
        "correlation_id": {"stringValue": "corr-worker", "dataType": "String"},
    }
    return dict(item)


def run(*records: dict[str, Any]) -> dict[str, Any]:
    return dict(worker_handler.handler({"Records": list(records)}, lambda_context("worker")))


def job_row(admin_db: psycopg.Connection[DictRow], job_id: str) -> dict[str, Any]:
    row = admin_db.execute("SELECT * FROM conversion_jobs WHERE job_id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


def test_job_is_completed_with_the_rate_and_minor_units(admin_db: psycopg.Connection[DictRow]) -> None:
    job_id = create_job("USD", "JPY", "100.00")
    assert run(record(job_id)) == {"batchItemFailures": []}
    job = job_row(admin_db, job_id)
    assert (job["status"], job["rate"], job["target_amount"]) == (
        "completed",
        Decimal("151.42"),
        Decimal("15142"),
    )
    assert format(job["target_amount"], "f") == "15142", "stored in the currency's minor units"
    assert job["completed_at"] is not None


def test_same_message_twice_has_one_effect(admin_db: psycopg.Connection[DictRow]) -> None:
    job_id = create_job("EUR", "BHD", "10.00")
    key = str(uuid.uuid4().int % 10**15)
    message = record(job_id, outbox_id=key)
    run(message)
    first = job_row(admin_db, job_id)
    assert first["status"] == "completed"
    # Someone resets the job: a redelivered message must still not apply a second time.
    admin_db.execute(
        "UPDATE conversion_jobs SET status = 'queued', rate = NULL, target_amount = NULL, completed_at = NULL"
        " WHERE job_id = %s",
        (job_id,),
    )
    assert run(message) == {"batchItemFailures": []}, "a duplicate is acknowledged"
    assert job_row(admin_db, job_id)["status"] == "queued", "and changes nothing"
    inbox = admin_db.execute(
        "SELECT count(*) AS n FROM inbox WHERE consumer = 'worker' AND message_key = %s", (key,)
    ).fetchone()
    assert inbox == {"n": 1}


def test_unknown_pair_fails_the_job_and_acknowledges_the_message(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    job_id = create_job("USD", "MXN", "5")
    assert run(record(job_id)) == {"batchItemFailures": []}
    job = job_row(admin_db, job_id)
    assert (job["status"], job["failure_reason"]) == ("failed", "no exchange rate for USD->MXN")
    assert job["target_amount"] is None


def test_poison_and_transient_failures_fail_only_their_record(
    admin_db: psycopg.Connection[DictRow], monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration.conftest import reset_labcore

    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "300")
    reset_labcore()
    good_id, locked_id = create_job("GBP", "EUR", "1"), create_job("GBP", "USD", "1")
    poison = record(body="this is not json")
    good, locked = record(good_id), record(locked_id)

    # Another transaction holds the job: the worker's statement times out, a transient failure.
    with row_locked("SELECT 1 FROM conversion_jobs WHERE job_id = %s FOR UPDATE", (locked_id,)):
        response = run(poison, good, locked)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert failed == {poison["messageId"], locked["messageId"]}
    assert job_row(admin_db, good_id)["status"] == "completed"
    assert job_row(admin_db, locked_id)["status"] == "queued", "rolled back, to be retried"
    # The retry (the same message, redelivered) succeeds once the lock is gone.
    assert run(locked) == {"batchItemFailures": []}
    assert job_row(admin_db, locked_id)["status"] == "completed"


def test_bhd_is_converted_to_three_places(admin_db: psycopg.Connection[DictRow]) -> None:
    job_id = create_job("USD", "BHD", "1")
    assert run(record(job_id)) == {"batchItemFailures": []}
    job = job_row(admin_db, job_id)
    # 1 x 0.377: three places keep 0.377, two would round it to 0.38.
    assert (job["status"], job["rate"], job["target_amount"]) == (
        "completed",
        Decimal("0.377"),
        Decimal("0.377"),
    )


@pytest.mark.parametrize(
    ("final", "columns"),
    [
        ("completed", "rate = 1, target_amount = 1, failure_reason = NULL"),
        ("failed", "rate = NULL, target_amount = NULL, failure_reason = 'given up by hand'"),
    ],
)
def test_a_final_job_is_left_as_it_is_by_a_new_message(
    admin_db: psycopg.Connection[DictRow], final: str, columns: str
) -> None:
    """A republished event arrives under a new key, so the inbox cannot catch it: the status must."""
    job_id = create_job("USD", "EUR", "100.00")
    admin_db.execute(
        f"UPDATE conversion_jobs SET status = %s, {columns}, completed_at = now() - interval '1 hour',"
        " updated_at = now() - interval '1 hour' WHERE job_id = %s",
        (final, job_id),
    )
    before = job_row(admin_db, job_id)
    assert run(record(job_id)) == {"batchItemFailures": []}, "acknowledged, nothing to retry"
    assert job_row(admin_db, job_id) == before


def test_applied_and_failed_messages_are_logged_with_their_keys(
    admin_db: psycopg.Connection[DictRow], caplog: pytest.LogCaptureFixture
) -> None:
    job_id = create_job("USD", "EUR", "2")
    key = str(uuid.uuid4().int % 10**15)
    applied, poison = record(job_id, outbox_id=key), record(body="[]")
    response = run(applied, poison)
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    by_message = {r.getMessage(): r for r in caplog.records}
    done = by_message["message applied"]
    assert (done.levelname, done.topic, done.message_key, done.outcome) == (  # type: ignore[attr-defined]
        "INFO",
        "conversion-jobs",
        key,
        "completed",
    )
    failed = by_message["message failed"]
    assert (failed.levelname, failed.message_id, failed.message_key, failed.receive_count) == (  # type: ignore[attr-defined]
        "ERROR",
        poison["messageId"],
        poison["messageAttributes"]["outbox_id"]["stringValue"],
        "1",
    )
    assert failed.exc_info is not None and "body is not a JSON object" in str(failed.exc_info[1])


def test_the_correlation_id_of_the_message_reaches_the_worker_logs() -> None:
    from worker import handler

    job_id = create_job("USD", "EUR", "2")
    run(record(job_id))
    assert handler.logger.get_correlation_id() == "corr-worker"


def test_a_message_without_an_outbox_id_is_keyed_by_its_message_id(
    admin_db: psycopg.Connection[DictRow], caplog: pytest.LogCaptureFixture
) -> None:
    job_id = create_job("USD", "EUR", "2")
    message = record(job_id)
    del message["messageAttributes"]["outbox_id"]
    assert run(message) == {"batchItemFailures": []}
    assert run(message) == {"batchItemFailures": []}
    inbox = admin_db.execute(
        "SELECT count(*) AS n FROM inbox WHERE consumer = 'worker' AND message_key = %s",
        (message["messageId"],),
    ).fetchone()
    assert inbox == {"n": 1}
    outcomes = [getattr(r, "outcome", None) for r in caplog.records if r.getMessage() == "message applied"]
    assert outcomes == ["completed", "duplicate"]
