"""The worker failing a message: a transient failure is retried until it applies; a message that keeps
failing ends in the DLQ after three receives, and once its cause is fixed the redrive command brings
it back and it applies once.

The failure is real: the message names a job whose row is not there (yet), as when a producer
outside the outbox sends ahead of its commit; the fix is the row appearing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import DictRow

import jobload
from labcore import topics
from tests_support import poll, redrive_jobs_dlq


def send_for_a_missing_job(outputs: dict[str, Any], aws: Callable[[str], Any]) -> tuple[str, str]:
    job_id, message_key = str(uuid.uuid4()), str(uuid.uuid4().int % 10**15)
    attributes = {
        "topic": {"DataType": "String", "StringValue": topics.CONVERSION_JOBS},
        "outbox_id": {"DataType": "Number", "StringValue": message_key},
        "correlation_id": {"DataType": "String", "StringValue": f"fault-worker-{message_key}"},
    }
    aws("sqs").send_message(
        QueueUrl=outputs["jobs_queue_url"],
        MessageBody=json.dumps({"job_id": job_id}),
        MessageAttributes=attributes,
    )
    return job_id, message_key


def create_job(admin_db: psycopg.Connection[DictRow], job_id: str) -> None:
    admin_db.execute(
        "INSERT INTO conversion_jobs (job_id, client_id, source_currency, target_currency, source_amount,"
        " request_hash) VALUES (%s, 'fault-worker', 'EUR', 'GBP', 40, 'fault-worker')",
        (job_id,),
    )


def worker_log(aws: Callable[[str], Any], outputs: dict[str, Any], message_key: str) -> list[dict[str, Any]]:
    """The worker's log records about one message of the last ten minutes, oldest first."""
    since_ms = int((time.time() - 600) * 1000)
    records = jobload.worker_log(aws("logs"), outputs["functions"]["worker"], since_ms, f'"{message_key}"')
    return [record for record in records if record.get("message_key") == message_key]


def final(admin_db: psycopg.Connection[DictRow], job_id: str) -> dict[str, Any] | None:
    return admin_db.execute(
        "SELECT status, target_amount FROM conversion_jobs WHERE job_id = %s AND status = 'completed'",
        (job_id,),
    ).fetchone()


def in_dlq(aws: Callable[[str], Any], outputs: dict[str, Any], message_key: str) -> bool:
    response = aws("sqs").receive_message(
        QueueUrl=outputs["jobs_dlq_url"],
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        VisibilityTimeout=0,
        MessageAttributeNames=["All"],
    )
    keys = [
        m["MessageAttributes"].get("outbox_id", {}).get("StringValue") for m in response.get("Messages", [])
    ]
    return message_key in keys


def test_a_transient_failure_is_retried_until_the_message_applies(
    outputs: dict[str, Any],
    aws: Callable[[str], Any],
    admin_db: psycopg.Connection[DictRow],
    figure: Callable[[str, float], None],
) -> None:
    job_id, key = send_for_a_missing_job(outputs, aws)
    poll(
        lambda: any(r["message"] == "message failed" for r in worker_log(aws, outputs, key)),
        timeout=30,
        interval=0.5,
        what="the worker's first failure",
    )
    create_job(admin_db, job_id)
    fixed_at = time.monotonic()
    poll(lambda: final(admin_db, job_id), timeout=60, what="the retried message to complete its job")
    figure(
        "worker transient failure: cause fixed -> job completed (visibility timeout)",
        time.monotonic() - fixed_at,
    )
    records = poll(
        lambda: (r := worker_log(aws, outputs, key)) and r[-1]["message"] == "message applied" and r,
        timeout=30,
        what="the worker's log of the applied message",
    )
    assert records[-1]["outcome"] == "completed"
    failed = [r for r in records if r["message"] == "message failed"]
    assert 1 <= len(failed) < 3, failed  # retried before the DLQ's third receive
    assert not in_dlq(aws, outputs, key)


def test_a_failing_message_reaches_the_dlq_and_the_redrive_brings_it_back_fixed(
    outputs: dict[str, Any],
    aws: Callable[[str], Any],
    admin_db: psycopg.Connection[DictRow],
    figure: Callable[[str, float], None],
) -> None:
    job_id, key = send_for_a_missing_job(outputs, aws)
    sent_at = time.monotonic()
    poll(lambda: in_dlq(aws, outputs, key), timeout=90, interval=0.5, what="the failing message in the DLQ")
    figure("poison message: sent -> in the DLQ (3 receives)", time.monotonic() - sent_at)
    failed = [r for r in worker_log(aws, outputs, key) if r["message"] == "message failed"]
    assert [int(r["receive_count"]) for r in failed] == [1, 2, 3], failed
    assert final(admin_db, job_id) is None
    create_job(admin_db, job_id)  # the fix
    redriven_at = time.monotonic()
    assert redrive_jobs_dlq() >= 1
    row = poll(lambda: final(admin_db, job_id), timeout=60, what="the redriven message to complete its job")
    figure("poison message: redrive -> job completed", time.monotonic() - redriven_at)
    assert row["target_amount"] is not None
    applied = poll(
        lambda: [r for r in worker_log(aws, outputs, key) if r["message"] == "message applied"],
        timeout=30,
        what="the worker's log of the redriven message",
    )
    assert [r["outcome"] for r in applied] == ["completed"]
    assert not in_dlq(aws, outputs, key)
