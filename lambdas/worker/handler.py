"""SQS adapter for the worker: one transaction per record, failures reported per record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import consumer, db
from labcore.config import LabSettings, load
from worker import service

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
settings = load(LabSettings)  # at import: a bad setting fails the cold start
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    with consumer.failures_logged(logger, record):
        _apply(record)


def _apply(record: SQSRecord) -> None:
    topic = consumer.attribute(record, "topic")
    logger.set_correlation_id(consumer.attribute(record, "correlation_id"))
    payload = consumer.json_object(record)
    if topic is None:
        raise consumer.PoisonMessage(f"message {record.message_id} has no topic")
    message_key = consumer.message_key(record)
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
