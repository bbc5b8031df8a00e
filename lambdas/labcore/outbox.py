"""Writing to the transactional outbox: always on the caller's connection, inside its transaction.

A statement trigger on `outbox` (migration 0004) raises a NOTIFY on NOTIFY_CHANNEL for every
insert, however it was written; Postgres delivers it only if the transaction commits, so a
dispatcher listening there publishes the rows within milliseconds of the commit.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

NOTIFY_CHANNEL = "outbox_enqueued"  # spelled in the trigger of db/migrations/0004 too


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
    if not conn.info.transaction_status:
        raise RuntimeError("outbox.enqueue needs an open transaction: the event must commit with its rows")
    row = conn.execute(
        "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type, payload, headers)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING outbox_id",
        (aggregate_type, aggregate_id, topic, event_type, Jsonb(payload), Jsonb(headers)),
    ).fetchone()
    assert row is not None
    return int(row["outbox_id"])
