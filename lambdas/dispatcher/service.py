"""Claiming, publishing and marking outbox rows: at-least-once, never one row twice in a pass."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg.rows import DictRow

SQS_BATCH = 10


@dataclass(frozen=True)
class DispatchSettings:
    """Validated at construction: a zero batch would spin, a negative delay is an SQL error."""

    batch_size: int = 100  # rows claimed per transaction
    max_attempts: int = 5  # failed publishes before a row is parked
    backoff_base_s: float = 2.0  # first retry after this, doubling per attempt
    backoff_max_s: float = 300.0
    retention_hours: float = 24.0  # published rows older than this are deleted
    inbox_retention_hours: float = 360.0  # applied messages' inbox rows older than this are deleted
    linger_s: float = 2.0  # after a nudge, keep listening for new rows this long (> the API's nudge interval)
    time_reserve_ms: int = 3000  # stop claiming when less is left: one pass (claim, send, mark) fits

    def __post_init__(self) -> None:
        for name in (
            "batch_size",
            "max_attempts",
            "backoff_base_s",
            "backoff_max_s",
            "retention_hours",
            "inbox_retention_hours",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"dispatch setting {name} must be > 0, got {getattr(self, name)}")
        if self.linger_s < 0:
            raise ValueError(f"dispatch setting linger_s must be >= 0, got {self.linger_s}")


@dataclass(frozen=True)
class OutboxMessage:
    outbox_id: int
    topic: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class PublishFailure:
    outbox_id: int
    error: str


class Publisher(Protocol):
    def publish(self, messages: list[OutboxMessage]) -> list[PublishFailure]:
        """Send the messages; return those the broker did not acknowledge."""
        ...


@dataclass
class PassResult:
    claimed: int = 0
    published: int = 0
    failed: int = 0
    parked: list[int] = field(default_factory=list)

    def add(self, other: PassResult) -> None:
        self.claimed += other.claimed
        self.published += other.published
        self.failed += other.failed
        self.parked.extend(other.parked)


class SqsPublisher:
    """SendMessageBatch to the queue of each message's topic; reads the Failed list of every call.

    The calls of one claim go out `concurrency` at a time: each is a network round trip, and the
    boto3 client is thread-safe.
    """

    def __init__(self, sqs: Any, queue_urls: dict[str, str], concurrency: int = 4) -> None:
        self.sqs = sqs
        self.queue_urls = queue_urls
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sqs-publish")

    def publish(self, messages: list[OutboxMessage]) -> list[PublishFailure]:
        failures: list[PublishFailure] = []
        by_queue: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            url = self.queue_urls.get(message.topic)
            if url is None:
                failures.append(PublishFailure(message.outbox_id, f"no queue for topic {message.topic!r}"))
                continue
            try:
                entry = sqs_entry(message)
            except (AttributeError, TypeError, ValueError) as exc:
                # A row written by hand (JSON null headers, say) fails alone, never the whole pass.
                failures.append(
                    PublishFailure(message.outbox_id, f"unpublishable row: {type(exc).__name__}: {exc}")
                )
                continue
            by_queue.setdefault(url, []).append(entry)
        calls = [
            (url, queued[start : start + SQS_BATCH])
            for url, queued in by_queue.items()
            for start in range(0, len(queued), SQS_BATCH)
        ]
        for failed in self._pool.map(lambda call: self._send(*call), calls):
            failures += failed
        return failures

    def _send(self, url: str, entries: list[dict[str, Any]]) -> list[PublishFailure]:
        try:
            response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        except Exception as exc:  # the whole call failed: every entry is retried later
            return [PublishFailure(int(entry["Id"]), f"{type(exc).__name__}: {exc}") for entry in entries]
        return [
            PublishFailure(int(failed["Id"]), f"{failed.get('Code')}: {failed.get('Message', '')}".strip())
            for failed in response.get("Failed", [])
        ]


def sqs_entry(message: OutboxMessage) -> dict[str, Any]:
    """A SendMessageBatch entry: the payload as body, routing and tracing data as attributes."""
    return {
        "Id": str(message.outbox_id),
        "MessageBody": json.dumps(message.payload),
        "MessageAttributes": {
            "topic": {"DataType": "String", "StringValue": message.topic},
            "event_type": {"DataType": "String", "StringValue": message.event_type},
            "outbox_id": {"DataType": "Number", "StringValue": str(message.outbox_id)},
            "correlation_id": {
                "DataType": "String",
                "StringValue": message.headers.get("correlation_id") or "none",
            },
        },
    }


def claim(conn: psycopg.Connection[DictRow], batch_size: int) -> list[OutboxMessage]:
    """Lock the oldest due rows; rows another dispatcher holds are skipped, not waited for."""
    rows = conn.execute(
        "SELECT outbox_id, topic, event_type, payload, headers FROM outbox"
        " WHERE published_at IS NULL AND parked_at IS NULL AND next_attempt_at <= now()"
        " ORDER BY next_attempt_at, outbox_id LIMIT %s FOR UPDATE SKIP LOCKED",
        (batch_size,),
    ).fetchall()
    return [OutboxMessage(**row) for row in rows]


def dispatch_batch(
    conn: psycopg.Connection[DictRow], publisher: Publisher, settings: DispatchSettings
) -> PassResult:
    """One claim-publish-mark cycle inside the caller's transaction (the locks last until commit).

    A crash after publishing and before the commit publishes those rows again: at-least-once,
    and consumers deduplicate on the outbox id.
    """
    messages = claim(conn, settings.batch_size)
    if not messages:
        return PassResult()
    failures = publisher.publish(messages)
    failed_ids = {failure.outbox_id for failure in failures}
    published = [message.outbox_id for message in messages if message.outbox_id not in failed_ids]
    if published:
        conn.execute("UPDATE outbox SET published_at = now() WHERE outbox_id = ANY(%s)", (published,))
    parked = _mark_failed(conn, failures, settings) if failures else []
    return PassResult(claimed=len(messages), published=len(published), failed=len(failures), parked=parked)


def _mark_failed(
    conn: psycopg.Connection[DictRow], failures: list[PublishFailure], settings: DispatchSettings
) -> list[int]:
    """attempts + 1, the error, an exponential-backoff next attempt; parked once out of attempts."""
    rows = conn.execute(
        "UPDATE outbox AS o SET attempts = o.attempts + 1, last_error = f.error,"
        " next_attempt_at = now() + make_interval(secs => least(%(cap)s, %(base)s * power(2, o.attempts))),"
        " parked_at = CASE WHEN o.attempts + 1 >= %(max_attempts)s THEN now() END"
        " FROM unnest(%(ids)s::bigint[], %(errors)s::text[]) AS f(id, error)"
        " WHERE o.outbox_id = f.id RETURNING o.outbox_id, o.parked_at IS NOT NULL AS parked",
        {
            "ids": [failure.outbox_id for failure in failures],
            "errors": [failure.error for failure in failures],
            "base": settings.backoff_base_s,
            "cap": settings.backoff_max_s,
            "max_attempts": settings.max_attempts,
        },
    ).fetchall()
    return sorted(row["outbox_id"] for row in rows if row["parked"])


Listen = Callable[[], psycopg.Connection[DictRow]]
InTransaction = Callable[[Callable[[psycopg.Connection[DictRow]], PassResult]], PassResult]


def drain(
    in_transaction: InTransaction,
    publisher: Publisher,
    settings: DispatchSettings,
    time_left_ms: Callable[[], int],
    on_pass: Callable[[PassResult], None] = lambda result: None,
) -> PassResult:
    """Claim and publish, one transaction per pass, until a pass comes back short or time runs out."""
    totals = PassResult()
    while True:
        result = in_transaction(lambda conn: dispatch_batch(conn, publisher, settings))
        totals.add(result)
        on_pass(result)
        if result.claimed < settings.batch_size or time_left_ms() < settings.time_reserve_ms:
            return totals


def drain_and_linger(
    listen: Listen,
    in_transaction: InTransaction,
    publisher: Publisher,
    settings: DispatchSettings,
    time_left_ms: Callable[[], int],
    on_pass: Callable[[PassResult], None] = lambda result: None,
) -> PassResult:
    """Drain, then drain again on each commit notification until `linger_s` after the first drain.

    `listen()` returns the connection the drains use, LISTENing on the outbox channel (again after
    it was replaced); it comes before each drain, so a row committed in between is not missed. The
    API nudges at most once per interval shorter than the linger, so its later jobs find us listening.
    """
    totals = PassResult()
    listening: psycopg.Connection[DictRow] | None = None
    deadline = time.monotonic() + settings.linger_s
    try:
        while True:
            listening = listen()
            totals.add(drain(in_transaction, publisher, settings, time_left_ms, on_pass))
            wait = min(deadline - time.monotonic(), (time_left_ms() - settings.time_reserve_ms) / 1000)
            if wait <= 0 or not any(True for _ in listening.notifies(timeout=wait, stop_after=1)):
                return totals
    finally:
        if listening is not None and not (listening.closed or listening.broken):
            listening.execute("UNLISTEN *")


def purge_published(conn: psycopg.Connection[DictRow], retention_hours: float, limit: int = 5000) -> int:
    """Delete published rows older than the retention period (bounded per call)."""
    cur = conn.execute(
        "DELETE FROM outbox WHERE outbox_id IN (SELECT outbox_id FROM outbox"
        " WHERE published_at < now() - make_interval(secs => %s) ORDER BY published_at LIMIT %s)",
        (retention_hours * 3600, limit),
    )
    return cur.rowcount


def purge_inbox(conn: psycopg.Connection[DictRow], retention_hours: float, limit: int = 5000) -> int:
    """Delete consumers' inbox rows older than the retention period (bounded per call).

    The retention must outlast any redelivery of the message (the queues' and DLQs' retention),
    or a late copy would be applied a second time; Terraform checks that.
    """
    cur = conn.execute(
        "DELETE FROM inbox WHERE (consumer, message_key) IN (SELECT consumer, message_key FROM inbox"
        " WHERE received_at < now() - make_interval(secs => %s) ORDER BY received_at LIMIT %s)",
        (retention_hours * 3600, limit),
    )
    return cur.rowcount
