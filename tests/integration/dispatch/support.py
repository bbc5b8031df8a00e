"""Helpers of the dispatcher tests: outbox rows, a recording publisher, transactions on a connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from dispatcher import service
from dispatcher.service import DispatchSettings, OutboxMessage, PublishFailure


def insert_rows(conn: psycopg.Connection[DictRow], count: int, topic: str = "conversion-jobs") -> list[int]:
    rows = conn.execute(
        "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type, payload, headers)"
        " SELECT 'test', i::text, %s, 'test.created', %s, %s FROM generate_series(1, %s) AS i"
        " RETURNING outbox_id",
        (topic, Jsonb({"n": 1}), Jsonb({"correlation_id": "c"}), count),
    ).fetchall()
    return [row["outbox_id"] for row in rows]


class RecordingPublisher:
    """Acknowledges everything except the ids it is told to fail; remembers what it sent."""

    def __init__(self, fail: set[int] | None = None, meet: threading.Barrier | None = None) -> None:
        self.fail = fail or set()
        self.meet = meet  # its first publish waits here for the other publishers' first publish
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def publish(self, messages: list[OutboxMessage]) -> list[PublishFailure]:
        if self.meet is not None:
            # Every dispatcher then holds a claim at once: SKIP LOCKED is surely put to the test.
            self.meet.wait(timeout=10)
            self.meet = None
        with self.lock:
            self.sent += [m.outbox_id for m in messages if m.outbox_id not in self.fail]
        return [
            PublishFailure(m.outbox_id, "Throttled: simulated") for m in messages if m.outbox_id in self.fail
        ]


def in_transaction_on(conn: psycopg.Connection[DictRow]) -> service.InTransaction:
    def run(work: Callable[[psycopg.Connection[DictRow]], service.PassResult]) -> service.PassResult:
        with conn.transaction():
            return work(conn)

    return run


def plenty_of_time() -> int:
    return 60_000


def drain(
    conn: psycopg.Connection[DictRow], publisher: Any, settings: DispatchSettings
) -> service.PassResult:
    """What the deployed dispatcher does per invocation, on the test's connection."""
    return service.drain(in_transaction_on(conn), publisher, settings, plenty_of_time)
