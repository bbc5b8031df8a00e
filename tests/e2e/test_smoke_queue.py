"""A message sent to the smoke queue is processed by the SQS-triggered function: observed in Postgres."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import DictRow

from tests_support import poll


def test_message_is_recorded_by_the_worker(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    body = f"smoke-{uuid.uuid4()}"
    sent = aws("sqs").send_message(QueueUrl=outputs["smoke_queue_url"], MessageBody=body)

    def recorded() -> dict[str, Any] | None:
        query = "SELECT message_id, body FROM smoke_messages WHERE message_id = %s"
        return admin_db.execute(query, (sent["MessageId"],)).fetchone()

    row = poll(recorded, timeout=30, what="the smoke worker to record the message")
    assert row == {"message_id": sent["MessageId"], "body": body}


def test_worker_logs_reach_cloudwatch(outputs: dict[str, Any], aws: Callable[[str], Any]) -> None:
    body = f"logged-{uuid.uuid4()}"
    sent = aws("sqs").send_message(QueueUrl=outputs["smoke_queue_url"], MessageBody=body)
    group = f"/aws/lambda/{outputs['functions']['smoke_worker']}"

    def logged() -> list[dict[str, Any]]:
        events = aws("logs").filter_log_events(logGroupName=group, filterPattern=sent["MessageId"])["events"]
        return [event for event in events if sent["MessageId"] in event["message"]]

    events = poll(logged, timeout=30, what="the worker's log line in CloudWatch Logs")
    record = json.loads(events[0]["message"])  # powertools Logger: one JSON document per line
    assert record["message"] == "smoke message recorded"
    assert record["message_id"] == sent["MessageId"]
    assert record["level"] == "INFO"
