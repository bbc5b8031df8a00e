"""SQS adapter for the smoke queue: partial batch failures through powertools."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import db
from smoke_worker import service

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    created = db.run_in_transaction(lambda conn: service.record_message(conn, record.message_id, record.body))
    logger.info("smoke message recorded", extra={"message_id": record.message_id, "duplicate": not created})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
