"""Lambda adapter for the dispatcher: drain due outbox rows while work and time remain."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Self

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg.rows import DictRow
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt, model_validator
from pydantic_settings import NoDecode

from dispatcher import service
from labcore import db, outbox, topics
from labcore.clients import client
from labcore.config import LabSettings, json_object, load

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers


class DispatcherSettings(LabSettings):
    """Set by terraform/jobs.tf; defaults match DispatchSettings'."""

    topic_queues: Annotated[dict[str, str], NoDecode, json_object("topic -> queue name")]  # or queue URL
    dispatch_batch_size: PositiveInt = 100
    dispatch_max_attempts: PositiveInt = 5
    dispatch_backoff_base_s: PositiveFloat = 2.0
    dispatch_backoff_max_s: PositiveFloat = 300.0
    outbox_retention_hours: PositiveFloat = 24.0
    inbox_retention_hours: PositiveFloat = 360.0
    dispatch_linger_s: NonNegativeFloat = 2.0

    @model_validator(mode="after")
    def _a_queue_for_every_topic(self) -> Self:
        if set(self.topic_queues) != topics.ALL:
            raise ValueError(
                f"TOPIC_QUEUES must name a queue for exactly the topics {sorted(topics.ALL)},"
                f" got {sorted(self.topic_queues)}"
            )
        return self

    def dispatch(self) -> service.DispatchSettings:
        return service.DispatchSettings(
            batch_size=self.dispatch_batch_size,
            max_attempts=self.dispatch_max_attempts,
            backoff_base_s=self.dispatch_backoff_base_s,
            backoff_max_s=self.dispatch_backoff_max_s,
            retention_hours=self.outbox_retention_hours,
            inbox_retention_hours=self.inbox_retention_hours,
            linger_s=self.dispatch_linger_s,
        )


settings = load(DispatcherSettings)  # at import: a bad setting fails the cold start
dispatch_settings = settings.dispatch()


@functools.cache
def publisher() -> service.SqsPublisher:
    """Queue names are resolved to URLs once per environment."""
    sqs = client("sqs")
    urls = {
        topic: queue
        if queue.startswith(("http://", "https://"))
        else sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        for topic, queue in settings.topic_queues.items()
    }
    return service.SqsPublisher(sqs, urls)


def _log_parked(result: service.PassResult) -> None:
    for outbox_id in result.parked:
        logger.error("outbox row parked after too many failed publishes", extra={"outbox_id": outbox_id})


def _listen() -> psycopg.Connection[DictRow]:
    return db.listen(outbox.NOTIFY_CHANNEL)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config, sqs_publisher = dispatch_settings, publisher()
    time_left = context.get_remaining_time_in_millis
    scheduled = event.get("source") == "aws.events"
    if scheduled or config.linger_s <= 0:
        totals = service.drain(db.run_in_transaction, sqs_publisher, config, time_left, _log_parked)
    else:  # nudged by the API: stay for the jobs that follow
        totals = service.drain_and_linger(
            _listen, db.run_in_transaction, sqs_publisher, config, time_left, _log_parked
        )
    counts = {
        "claimed": totals.claimed,
        "published": totals.published,
        "failed": totals.failed,
        "parked": len(totals.parked),
        "purged": 0,
        "inbox_purged": 0,
    }
    if scheduled:  # the schedule: also the time to clean up both delivery tables
        counts["purged"] = db.run_in_transaction(
            lambda conn: service.purge_published(conn, config.retention_hours)
        )
        counts["inbox_purged"] = db.run_in_transaction(
            lambda conn: service.purge_inbox(conn, config.inbox_retention_hours)
        )
    logger.info("dispatch pass done", extra=counts)
    return counts
