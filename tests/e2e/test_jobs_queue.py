"""The SQS -> worker Lambda -> Postgres path on its own: a message on the jobs queue completes its job.

The job is inserted without an outbox row and the message sent as the dispatcher would send it,
so only this path (the event source mapping, the layer, the worker) can complete it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import requests
from psycopg.rows import DictRow

from labcore import topics
from tests_support import poll

# GBP -> JPY: 12.5 x 192.5972... = 2407.46..., at the yen's 0 minor units.
SOURCE, TARGET, AMOUNT = "GBP", "JPY", "12.5"


def send_job_message(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> tuple[str, str, str]:
    job_id = str(uuid.uuid4())
    admin_db.execute(
        "INSERT INTO conversion_jobs (job_id, client_id, source_currency, target_currency, source_amount,"
        " request_hash) VALUES (%s, 'queue-e2e', %s, %s, %s, 'queue-e2e')",
        (job_id, SOURCE, TARGET, AMOUNT),
    )
    correlation_id, message_key = f"queue-e2e-{uuid.uuid4()}", str(uuid.uuid4().int % 10**15)
    attributes = {
        "topic": {"DataType": "String", "StringValue": topics.CONVERSION_JOBS},
        "event_type": {"DataType": "String", "StringValue": "conversion_job.created"},
        "outbox_id": {"DataType": "Number", "StringValue": message_key},
        "correlation_id": {"DataType": "String", "StringValue": correlation_id},
    }
    aws("sqs").send_message(
        QueueUrl=outputs["jobs_queue_url"],
        MessageBody=json.dumps({"job_id": job_id}),
        MessageAttributes=attributes,
    )
    return job_id, correlation_id, message_key


def test_a_message_on_the_jobs_queue_completes_its_job(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    job_id, _, message_key = send_job_message(outputs, aws, admin_db)

    def completed() -> dict[str, Any] | None:
        return admin_db.execute(
            "SELECT status FROM conversion_jobs WHERE job_id = %s AND status = 'completed'",
            (job_id,),
        ).fetchone()

    poll(completed, timeout=30, what="the worker to complete the job")
    read = requests.get(f"{outputs['jobs_url']}/{job_id}", timeout=10)
    assert read.status_code == 200
    body = read.json()
    assert (body["status"], body["source_amount"]) == ("completed", AMOUNT)
    assert body["target_amount"] == "2407", "the yen has no minor units: no decimal point"
    inbox = admin_db.execute(
        "SELECT count(*) AS n FROM inbox WHERE consumer = 'worker' AND message_key = %s", (message_key,)
    ).fetchone()
    assert inbox == {"n": 1}, "applied once, keyed by the outbox id attribute"


def test_worker_logs_reach_cloudwatch_with_the_correlation_id(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    _, correlation_id, _ = send_job_message(outputs, aws, admin_db)
    group = f"/aws/lambda/{outputs['functions']['worker']}"

    def logged() -> list[dict[str, Any]]:
        events = aws("logs").filter_log_events(logGroupName=group, filterPattern=f'"{correlation_id}"')[
            "events"
        ]
        records = [json.loads(event["message"]) for event in events if correlation_id in event["message"]]
        return [record for record in records if record.get("message") == "message applied"]

    records = poll(logged, timeout=30, what="the worker's log line in CloudWatch Logs")
    assert records[0]["correlation_id"] == correlation_id
    assert (records[0]["topic"], records[0]["outcome"], records[0]["level"]) == (
        topics.CONVERSION_JOBS,
        "completed",
        "INFO",
    )
