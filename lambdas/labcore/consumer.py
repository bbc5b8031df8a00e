"""Consuming outbox messages from SQS: reading a record, and applying it once through the inbox.

The worker and the projector share these: a record's body must be a JSON object, its key is the
outbox id the dispatcher put in its attributes (the same across redeliveries and republishes), and
the `inbox` row of (consumer, key) commits with the message's effect, so a copy is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from psycopg.rows import DictRow


class PoisonMessage(Exception):
    """A record that cannot be applied as it is: retried, then left in the DLQ for a human."""


def attribute(record: SQSRecord, name: str) -> str | None:
    value = record.message_attributes[name]  # powertools' wrapper; None when absent
    return value.string_value if value else None


def message_key(record: SQSRecord) -> str:
    """The outbox id: it identifies the event across redeliveries and republishes alike."""
    return attribute(record, "outbox_id") or record.message_id


def json_object(record: SQSRecord) -> dict[str, Any]:
    try:
        payload = json.loads(record.body)
    except ValueError as exc:
        raise PoisonMessage(f"message {record.message_id} body is not JSON") from exc
    if not isinstance(payload, dict):
        raise PoisonMessage(f"message {record.message_id} body is not a JSON object")
    return payload


def first_receipt(conn: psycopg.Connection[DictRow], consumer: str, key: str) -> bool:
    """Record the message in the inbox; False when `consumer` has applied it before.

    On the caller's transaction: the row commits or rolls back with the message's effect.
    """
    return bool(
        conn.execute(
            "INSERT INTO inbox (consumer, message_key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (consumer, key),
        ).rowcount
    )


@contextmanager
def failures_logged(logger: Logger, record: SQSRecord, **context: Any) -> Iterator[None]:
    """Log an exception with the record's identity, then let it fail the record.

    The batch processor turns the exception into a batchItemFailure; the log keeps the why.
    """
    try:
        yield
    except Exception:
        logger.exception(
            "message failed",
            extra={
                "message_id": record.message_id,
                "message_key": message_key(record),
                "receive_count": record.attributes.approximate_receive_count,
                **context,
            },
        )
        raise
