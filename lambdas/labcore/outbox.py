"""Writing to the transactional outbox: always on the caller's connection, inside its transaction.

A statement trigger on `outbox` (migration 0004) raises a NOTIFY on NOTIFY_CHANNEL for every
insert, however it was written; Postgres delivers it only if the transaction commits, so a
dispatcher listening there publishes the rows within milliseconds of the commit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

NOTIFY_CHANNEL = "outbox_enqueued"  # spelled in the trigger of db/migrations/0004 too

# One statement for any number of rows. ORDER BY ordinality makes the identity follow the input
# order, so the ids of one aggregate's messages are in the order they were given (FIFO groups).
_INSERT_MANY = (
    "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type, payload, headers)"
    " SELECT aggregate_type, aggregate_id, topic, event_type, payload, headers"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::jsonb[], %s::jsonb[])"
    " WITH ORDINALITY AS m (aggregate_type, aggregate_id, topic, event_type, payload, headers, position)"
    " ORDER BY position"
    " RETURNING outbox_id"
)


@dataclass(frozen=True)
class Message:
    """One outbox row to write; the dispatcher publishes `payload` to the queue of `topic`."""

    aggregate_type: str
    aggregate_id: str
    topic: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]


def enqueue_many(conn: psycopg.Connection[DictRow], messages: Sequence[Message]) -> list[int]:
    """Insert the outbox rows in one round trip; they commit or roll back with the rows beside them.

    Returns their outbox ids in the order of `messages`.
    """
    if not conn.info.transaction_status:
        raise RuntimeError("outbox.enqueue needs an open transaction: the event must commit with its rows")
    if not messages:
        return []
    rows = conn.execute(
        _INSERT_MANY,
        (
            [m.aggregate_type for m in messages],
            [m.aggregate_id for m in messages],
            [m.topic for m in messages],
            [m.event_type for m in messages],
            [Jsonb(m.payload) for m in messages],
            [Jsonb(m.headers) for m in messages],
        ),
    ).fetchall()
    return sorted(int(row["outbox_id"]) for row in rows)  # ids grew in input order


def enqueue(
    conn: psycopg.Connection[DictRow],
    *,
    aggregate_type: str,
    aggregate_id: str,
    topic: str,
    event_type: str,
    payload: dict[str, Any],
    headers: dict[str, str],
) -> int:
    """Insert one outbox row; it commits or rolls back with the business rows beside it."""
    message = Message(aggregate_type, aggregate_id, topic, event_type, payload, headers)
    [outbox_id] = enqueue_many(conn, [message])
    return outbox_id


def request_headers(correlation_id: str | None) -> dict[str, str]:
    """The headers an outbox row carries from the request that wrote it: correlation and trace ids."""
    headers = {"correlation_id": correlation_id or ""}
    if trace_id := os.environ.get("_X_AMZN_TRACE_ID"):  # set by Lambda per invocation
        headers["trace_id"] = trace_id
    return headers
