"""SQS adapter for the worker: one transaction per record, failures reported per record."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import db
from labcore.config import LabSettings, load
from worker import service

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
settings = load(LabSettings)  # at import: a bad setting fails the cold start
processor = BatchProcessor(event_type=EventType.SQS)


class PoisonMessage(Exception):
    """A record that cannot be read: failing it lets SQS move it to the DLQ after maxReceiveCount."""


def _attribute(record: SQSRecord, name: str) -> str | None:
    attribute = record.message_attributes[name]  # powertools' wrapper; None when absent
    return attribute.string_value if attribute else None


def record_handler(record: SQSRecord) -> None:
    try:
        _apply(record)
    except Exception:
        # BatchProcessor turns the exception into a batchItemFailure; the log keeps the why.
        logger.exception(
            "message failed",
            extra={
                "message_id": record.message_id,
                "receive_count": record.attributes.approximate_receive_count,
            },
        )
        raise


def _apply(record: SQSRecord) -> None:
    topic = _attribute(record, "topic")
    correlation_id = _attribute(record, "correlation_id")
    logger.set_correlation_id(correlation_id)
    try:
        payload = json.loads(record.body)
    except ValueError as exc:
        raise PoisonMessage(f"message {record.message_id} body is not JSON") from exc
    if topic is None or not isinstance(payload, dict):
        raise PoisonMessage(f"message {record.message_id} has no topic or no JSON object body")
    # The outbox id identifies the event across redeliveries and republishes alike.
    message_key = _attribute(record, "outbox_id") or record.message_id
    outcome = db.run_in_transaction(lambda conn: service.apply_message(conn, topic, message_key, payload))
    logger.info(
        "message applied",
        extra={"topic": topic, "message_key": message_key, "outcome": outcome},
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
