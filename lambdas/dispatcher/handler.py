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
# Stop claiming when less than this is left: one pass (claim, 10 SendMessageBatch calls, mark) fits.
TIME_RESERVE_MS = 3000


@functools.cache
def settings() -> service.DispatchSettings:
    def number(name: str, default: float) -> float:
        raw = os.environ.get(name, "").strip()
        try:
            return float(raw) if raw else default
        except ValueError as exc:
            raise ConfigError(f"environment variable {name} must be a number, got {raw!r}") from exc

    defaults = service.DispatchSettings()
    return service.DispatchSettings(
        batch_size=int(number("DISPATCH_BATCH_SIZE", defaults.batch_size)),
        max_attempts=int(number("DISPATCH_MAX_ATTEMPTS", defaults.max_attempts)),
        backoff_base_s=number("DISPATCH_BACKOFF_BASE_S", defaults.backoff_base_s),
        backoff_max_s=number("DISPATCH_BACKOFF_MAX_S", defaults.backoff_max_s),
        retention_hours=number("OUTBOX_RETENTION_HOURS", defaults.retention_hours),
    )


@functools.cache
def publisher() -> service.SqsPublisher:
    raw = os.environ.get("TOPIC_QUEUES", "")
    try:
        queues = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"TOPIC_QUEUES must be a JSON object of topic -> queue URL, got {raw!r}") from exc
    return service.SqsPublisher(client("sqs"), dict(queues))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config, sqs_publisher = settings(), publisher()
    totals = service.PassResult()
    while True:
        result = db.run_in_transaction(lambda conn: service.dispatch_batch(conn, sqs_publisher, config))
        totals.add(result)
        for outbox_id in result.parked:
            logger.error("outbox row parked after too many failed publishes", extra={"outbox_id": outbox_id})
        if result.claimed < config.batch_size or context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            break
    purged = 0
    if event.get("source") == "aws.events":  # the schedule: also the time to clean up
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
