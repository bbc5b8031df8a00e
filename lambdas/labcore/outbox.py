"""Writing to the transactional outbox: always on the caller's connection, inside its transaction."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb


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
