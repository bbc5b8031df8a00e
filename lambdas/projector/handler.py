"""SQS FIFO adapter for the projector: one transaction per record; a failure stops its car's group."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import consumer, db
from labcore.config import LabSettings, load
from projector import service

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
settings = load(LabSettings)  # at import: a bad setting fails the cold start
# A failed record fails the rest of ITS message group in the batch (they come back, in order, with
# it); the other cars' records are still processed.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def record_handler(record: SQSRecord) -> None:
    with consumer.failures_logged(logger, record, message_group_id=record.attributes.message_group_id):
        _project(record)


def _project(record: SQSRecord) -> None:
    logger.set_correlation_id(consumer.attribute(record, "correlation_id"))
    payload = consumer.json_object(record)
    message_key = consumer.message_key(record)
    outcome = db.run_in_transaction(lambda conn: service.project(conn, message_key, payload))
    logger.info(
        "car event projected",
        extra={
            "message_key": message_key,
            "message_group_id": record.attributes.message_group_id,
            "outcome": outcome,
        },
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
