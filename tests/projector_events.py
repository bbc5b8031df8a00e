"""Builders of car-events messages as the dispatcher delivers them from the FIFO queue."""

from __future__ import annotations

import json
import uuid
from typing import Any

from car_events import car_entity


def car_event(
    car_id: str = "CAR-2024-001",
    *,
    updated_at: str = "2024-01-15T10:30:00Z",
    mileage: int = 0,
    total_balance: str = "0.00",
    event_type: str = "CarUpdated",
    **overrides: Any,
) -> dict[str, Any]:
    """The outbox payload of one car event (the events API's contract); entity fields overridable."""
    return {
        "eventId": str(uuid.uuid4()),
        "eventType": event_type,
        "eventName": "Car Updated",
        "createdDate": updated_at,
        "savedDate": updated_at,
        "entity": car_entity(
            car_id, updated_at=updated_at, mileage=mileage, total_balance=total_balance, **overrides
        ),
    }


def fifo_record(
    body: dict[str, Any] | str,
    *,
    group: str,
    outbox_id: int | None = None,
    correlation_id: str = "corr-projector",
    receive_count: int = 1,
) -> dict[str, Any]:
    """An SQS FIFO record with the attributes the dispatcher sets (no outbox_id when None)."""
    message_id = str(uuid.uuid4())
    attributes = {
        "topic": {"stringValue": "car-events", "dataType": "String"},
        "event_type": {"stringValue": "CarUpdated", "dataType": "String"},
        "correlation_id": {"stringValue": correlation_id, "dataType": "String"},
    }
    if outbox_id is not None:
        attributes["outbox_id"] = {"stringValue": str(outbox_id), "dataType": "Number"}
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1700000000000",
            "SequenceNumber": str(uuid.uuid4().int % 10**20),
            "MessageGroupId": group,
            "SenderId": "AIDAEXAMPLE",
            "MessageDeduplicationId": str(outbox_id or message_id),
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": attributes,
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:outbox-lab-car-events.fifo",
        "awsRegion": "us-east-1",
    }
