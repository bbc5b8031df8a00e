"""Recording a smoke message: idempotent on the SQS message id."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow


def record_message(conn: psycopg.Connection[DictRow], message_id: str, body: str) -> bool:
    """Insert the message once; returns False when it was already recorded (a redelivery)."""
    cur = conn.execute(
        "INSERT INTO smoke_messages (message_id, body) VALUES (%s, %s) ON CONFLICT (message_id) DO NOTHING",
        (message_id, body),
    )
    return cur.rowcount == 1
