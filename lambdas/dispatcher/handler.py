"""Lambda adapter for the dispatcher: drain due outbox rows while work and time remain."""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg import sql
from psycopg.rows import DictRow

from dispatcher import service
from labcore import db, outbox
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
        linger_s=number("DISPATCH_LINGER_S", defaults.linger_s),
    )


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


def _drain(context: LambdaContext, totals: service.PassResult) -> None:
    """Claim and publish until a pass comes back short or the time budget runs out."""
    config, sqs_publisher = settings(), publisher()
    while True:
        result = db.run_in_transaction(lambda conn: service.dispatch_batch(conn, sqs_publisher, config))
        totals.add(result)
        for outbox_id in result.parked:
            logger.error("outbox row parked after too many failed publishes", extra={"outbox_id": outbox_id})
        if result.claimed < config.batch_size or context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            return


def _listen(conn: psycopg.Connection[DictRow]) -> None:
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(outbox.NOTIFY_CHANNEL)))


def _drain_and_linger(context: LambdaContext, linger_s: float) -> service.PassResult:
    """Drain, then drain again on each commit notification until `linger_s` after the first drain.

    LISTEN comes before the first drain, so a row committed in between is not missed. The API
    nudges at most once per interval shorter than the linger, so its later jobs find us listening.
    """
    totals = service.PassResult()
    listening = db.connection()
    _listen(listening)
    try:
        _drain(context, totals)
        deadline = time.monotonic() + linger_s
        while (
            wait := min(deadline - time.monotonic(), context.get_remaining_time_in_millis() / 1000 - 3)
        ) > 0:
            if not any(True for _ in listening.notifies(timeout=wait, stop_after=1)):
                continue
            if db.connection() is not listening:  # replaced after a dead connection: listen again
                listening = db.connection()
                _listen(listening)
            _drain(context, totals)
    finally:
        if not listening.closed:
            listening.execute("UNLISTEN *")
    return totals


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings()
    scheduled = event.get("source") == "aws.events"
    if scheduled or config.linger_s <= 0:
        totals = service.PassResult()
        _drain(context, totals)
    else:  # nudged by the API: stay for the jobs that follow
        totals = _drain_and_linger(context, config.linger_s)
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
