"""Claiming, publishing and marking outbox rows: at-least-once, never one row twice in a pass."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg.rows import DictRow

SQS_BATCH = 10
FIFO_SUFFIX = ".fifo"  # SQS names every FIFO queue so, and its URL ends with the name
GROUP_ID = re.compile(r"[!-~]{1,128}")  # what SQS accepts as a MessageGroupId: printable ASCII, no space


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
    aggregate_id: str = ""  # the message group on a FIFO queue; claim always sets it


@dataclass(frozen=True)
class PublishFailure:
    """A row the broker did not take. `unreachable`: the whole call failed (SQS down, refusing or
    timing out after the client's own retries), which says nothing about the row itself."""

    outbox_id: int
    error: str
    unreachable: bool = False


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
    unreachable: int = 0  # of the failed: rows whose call never reached SQS

    def add(self, other: PassResult) -> None:
        self.claimed += other.claimed
        self.published += other.published
        self.failed += other.failed
        self.parked.extend(other.parked)
        self.unreachable += other.unreachable


class SqsPublisher:
    """SendMessageBatch to the queue of each message's topic; reads the Failed list of every call.

    Calls go out `concurrency` at a time: each is a network round trip, and the boto3 client is
    thread-safe. On a FIFO queue (URL ending in .fifo) an entry's MessageGroupId is the row's
    aggregate_id and its MessageDeduplicationId the outbox id (SQS drops a re-send within 5 minutes,
    e.g. after a crash between publishing and the commit), and a pass keeps each group in order:
    - a group's entries go out in outbox_id order, in waves: wave n carries the n-th entry of each
      group, and starts once every call of wave n-1 has been answered, so no two calls in flight
      carry the same group and no call carries a group twice;
    - once an entry of a group fails, the group's later entries of the pass are not sent: they fail
      "held behind outbox id N" and back off like any failure.

    Once a call of the pass fails whole (SQS unreachable), the pass's calls not yet started are not
    sent: their entries fail as unreachable too, so an outage costs one failed call per pass rather
    than one per ten rows, and the pass ends in about the time of one call.

    What remains unordered, and is safe because a consumer keeps the newest state by the event's
    own timestamp (the car projection's updatedAt guard): two dispatchers may interleave one group
    across their claims; a row backing off after a failure can be overtaken by a later row of its
    group, claimed in a later pass before the row is due again; outbox_id is the order of insertion,
    not of commit.
    """

    def __init__(self, sqs: Any, queue_urls: dict[str, str], concurrency: int = 4) -> None:
        self.sqs = sqs
        self.queue_urls = queue_urls
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sqs-publish")

    def publish(self, messages: list[OutboxMessage]) -> list[PublishFailure]:
        failures: list[PublishFailure] = []
        standard: dict[str, list[dict[str, Any]]] = {}
        fifo: dict[str, list[OutboxMessage]] = {}
        for message in messages:
            url = self.queue_urls.get(message.topic)
            if url is None:
                failures.append(PublishFailure(message.outbox_id, f"no queue for topic {message.topic!r}"))
            elif url.endswith(FIFO_SUFFIX):
                fifo.setdefault(url, []).append(message)
            elif (entry := _entry(message, False, failures)) is not None:
                standard.setdefault(url, []).append(entry)
        waves = {url: _waves(queued) for url, queued in fifo.items()}
        held: dict[tuple[str, str], int] = {}  # (FIFO queue, group) -> its first failed outbox id
        send = functools.partial(self._send, threading.Event())  # set once a call failed whole
        calls = [call for url, entries in standard.items() for call in _calls(url, entries)]
        for wave in range(max((len(w) for w in waves.values()), default=0) or 1):
            for url, queue_waves in waves.items():
                if wave < len(queue_waves):
                    calls += _calls(url, _unheld(url, queue_waves[wave], held, failures))
            for (url, entries), failed in zip(calls, self._pool.map(send, calls), strict=True):
                failures += failed
                groups = {entry["Id"]: entry.get("MessageGroupId") for entry in entries}
                for failure in failed:
                    if (group := groups.get(str(failure.outbox_id))) is not None:
                        held.setdefault((url, group), failure.outbox_id)
            calls = []
        return failures

    def _send(self, down: threading.Event, call: tuple[str, list[dict[str, Any]]]) -> list[PublishFailure]:
        url, entries = call
        if down.is_set():
            error = "not sent: SQS was unreachable earlier in this pass"
            return [PublishFailure(int(entry["Id"]), error, unreachable=True) for entry in entries]
        try:
            response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        except Exception as exc:  # the whole call failed: every entry is retried later
            down.set()
            error = f"{type(exc).__name__}: {exc}"
            return [PublishFailure(int(entry["Id"]), error, unreachable=True) for entry in entries]
        return [
            PublishFailure(int(failed["Id"]), f"{failed.get('Code')}: {failed.get('Message', '')}".strip())
            for failed in response.get("Failed", [])
        ]


def _entry(message: OutboxMessage, fifo: bool, failures: list[PublishFailure]) -> dict[str, Any] | None:
    try:
        return sqs_entry(message, fifo=fifo)
    except (AttributeError, TypeError, ValueError) as exc:
        # A row written by hand (JSON null headers, say) fails alone, never the whole pass.
        failures.append(PublishFailure(message.outbox_id, f"unpublishable row: {type(exc).__name__}: {exc}"))
        return None


def _waves(messages: list[OutboxMessage]) -> list[list[OutboxMessage]]:
    """A FIFO queue's messages by wave: wave n holds the n-th message of each group, by outbox id."""
    waves: list[list[OutboxMessage]] = []
    seen: dict[str, int] = {}
    for message in sorted(messages, key=lambda m: m.outbox_id):
        position = seen.get(message.aggregate_id, 0)
        seen[message.aggregate_id] = position + 1
        if position == len(waves):
            waves.append([])
        waves[position].append(message)
    return waves


def _unheld(
    url: str, wave: list[OutboxMessage], held: dict[tuple[str, str], int], failures: list[PublishFailure]
) -> list[dict[str, Any]]:
    """The wave's entries whose group has not failed in this pass; the others fail, held behind it."""
    entries = []
    for message in wave:
        group = (url, message.aggregate_id)
        if group in held:
            failures.append(PublishFailure(message.outbox_id, f"held behind outbox id {held[group]}"))
        elif (entry := _entry(message, True, failures)) is None:
            held[group] = message.outbox_id
        else:
            entries.append(entry)
    return entries


def _calls(url: str, entries: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(url, entries[start : start + SQS_BATCH]) for start in range(0, len(entries), SQS_BATCH)]


def sqs_entry(message: OutboxMessage, *, fifo: bool = False) -> dict[str, Any]:
    """A SendMessageBatch entry: the payload as body, routing and tracing data as attributes.

    On a FIFO queue the row's aggregate is the message group and its outbox id the deduplication id.
    """
    entry = {
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
    if fifo:
        if not GROUP_ID.fullmatch(message.aggregate_id):
            raise ValueError(f"aggregate_id {message.aggregate_id!r} is not a valid SQS message group id")
        entry["MessageGroupId"] = message.aggregate_id
        entry["MessageDeduplicationId"] = str(message.outbox_id)
    return entry


def claim(conn: psycopg.Connection[DictRow], batch_size: int) -> list[OutboxMessage]:
    """Lock the oldest due rows; rows another dispatcher holds are skipped, not waited for."""
    rows = conn.execute(
        "SELECT outbox_id, topic, event_type, payload, headers, aggregate_id FROM outbox"
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
    return PassResult(
        claimed=len(messages),
        published=len(published),
        failed=len(failures),
        parked=parked,
        unreachable=sum(failure.unreachable for failure in failures),
    )


def _mark_failed(
    conn: psycopg.Connection[DictRow], failures: list[PublishFailure], settings: DispatchSettings
) -> list[int]:
    """The error and a next attempt; parked once out of attempts.

    A row the broker refused: attempts + 1, exponential backoff. A row whose call never reached the
    broker (an outage): no attempt is spent and the backoff does not grow, so no outage, however
    long, parks a row, and the row goes out within one backoff step of the broker's return.
    """
    rows = conn.execute(
        "UPDATE outbox AS o SET attempts = o.attempts + (NOT f.unreachable)::int, last_error = f.error,"
        " next_attempt_at = now() + make_interval(secs => least(%(cap)s, %(base)s * power(2, o.attempts))),"
        " parked_at = CASE WHEN NOT f.unreachable AND o.attempts + 1 >= %(max_attempts)s THEN now() END"
        " FROM unnest(%(ids)s::bigint[], %(errors)s::text[], %(unreachable)s::boolean[])"
        "   AS f(id, error, unreachable)"
        " WHERE o.outbox_id = f.id RETURNING o.outbox_id, o.parked_at IS NOT NULL AS parked",
        {
            "ids": [failure.outbox_id for failure in failures],
            "errors": [failure.error for failure in failures],
            "unreachable": [failure.unreachable for failure in failures],
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
    """Claim and publish, one transaction per pass, until a pass comes back short, SQS is
    unreachable (more passes would only fail too) or time runs out."""
    totals = PassResult()
    while True:
        result = in_transaction(lambda conn: dispatch_batch(conn, publisher, settings))
        totals.add(result)
        on_pass(result)
        if (
            result.claimed < settings.batch_size
            or result.unreachable
            or time_left_ms() < settings.time_reserve_ms
        ):
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
