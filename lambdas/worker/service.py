"""Applying one message exactly once: the inbox row and the topic's effect share a transaction."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

from labcore.consumer import first_receipt
from worker.topics import HANDLERS

CONSUMER = "worker"


class UnroutableMessage(Exception):
    """No handler for the message's topic: retried, then left in the DLQ for a human."""


def apply_message(
    conn: psycopg.Connection[DictRow], topic: str, message_key: str, payload: dict[str, Any]
) -> str:
    """Record the message in the inbox and apply it; a message seen before is skipped."""
    handler = HANDLERS.get(topic)
    if handler is None:
        raise UnroutableMessage(f"no handler for topic {topic!r}")
    if not first_receipt(conn, CONSUMER, message_key):
        return "duplicate"
    return handler(conn, payload)
