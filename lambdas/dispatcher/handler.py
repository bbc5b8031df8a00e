"""Lambda adapter for the dispatcher: drain due outbox rows while work and time remain."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dispatcher import service
from labcore import db
from labcore.clients import client
from labcore.config import ConfigError

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers


@functools.cache
def settings() -> service.DispatchSettings:
    def number(name: str, default: float) -> float:
        raw = os.environ.get(name, "").strip()
        try:
            return float(raw) if raw else default
        except ValueError as exc:
            raise ConfigError(f"environment variable {name} must be a number, got {raw!r}") from exc

    defaults = service.DispatchSettings()
    try:
        return service.DispatchSettings(
            batch_size=int(number("DISPATCH_BATCH_SIZE", defaults.batch_size)),
            max_attempts=int(number("DISPATCH_MAX_ATTEMPTS", defaults.max_attempts)),
            backoff_base_s=number("DISPATCH_BACKOFF_BASE_S", defaults.backoff_base_s),
            backoff_max_s=number("DISPATCH_BACKOFF_MAX_S", defaults.backoff_max_s),
            retention_hours=number("OUTBOX_RETENTION_HOURS", defaults.retention_hours),
            linger_s=number("DISPATCH_LINGER_S", defaults.linger_s),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


@functools.cache
def publisher() -> service.SqsPublisher:
    """TOPIC_QUEUES maps each topic to a queue name (or URL); names are resolved once per environment."""
    raw = os.environ.get("TOPIC_QUEUES", "")
    try:
        queues = dict(json.loads(raw))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"TOPIC_QUEUES must be a JSON object of topic -> queue name, got {raw!r}") from exc
    sqs = client("sqs")
    urls = {
        topic: queue
        if queue.startswith(("http://", "https://"))
        else sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        for topic, queue in queues.items()
    }
    return service.SqsPublisher(sqs, urls)


def _log_parked(result: service.PassResult) -> None:
    for outbox_id in result.parked:
        logger.error("outbox row parked after too many failed publishes", extra={"outbox_id": outbox_id})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config, sqs_publisher = settings(), publisher()
    time_left = context.get_remaining_time_in_millis
    scheduled = event.get("source") == "aws.events"
    if scheduled or config.linger_s <= 0:
        totals = service.drain(db.run_in_transaction, sqs_publisher, config, time_left, _log_parked)
    else:  # nudged by the API: stay for the jobs that follow
        totals = service.drain_and_linger(
            db.connection, db.run_in_transaction, sqs_publisher, config, time_left, _log_parked
        )
    purged = 0
    if scheduled:  # the schedule: also the time to clean up
        purged = db.run_in_transaction(lambda conn: service.purge_published(conn, config.retention_hours))
    counts = {
        "claimed": totals.claimed,
        "published": totals.published,
        "failed": totals.failed,
        "parked": len(totals.parked),
        "purged": purged,
    }
    logger.info("dispatch pass done", extra=counts)
    return counts
