"""Builders and row counts shared by the events API's integration tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

import car_events
from events_api import service
from events_api.models import CarEvent
from labcore import db
from tests_support import app_conninfo

CAR_PREFIX = "CAR-IT-"  # the cars of these tests: deleted after each (forget_test_cars)


def car_id() -> str:
    return f"{CAR_PREFIX}{uuid.uuid4().hex[:12]}"


def car_event(
    event_id: uuid.UUID | None = None, entity_ids: Sequence[str] = (), mileage: int = 0, **header: str
) -> CarEvent:
    """A valid event with one entity per id (one new car when none are given)."""
    header = {
        "eventName": "Car Created",
        "eventType": "CarCreated",
        "savedDate": "2024-01-15T11:30:05+01:00",
        **header,
    }
    body = car_events.car_event(
        entity_ids or [car_id()], event_id=event_id, mileage=mileage, total_balance="1250.50", **header
    )
    return CarEvent.model_validate(body)


def ingest(events: Sequence[CarEvent], headers: dict[str, str] | None = None) -> list[service.Outcome]:
    return db.run_in_transaction(lambda conn: service.ingest(conn, events, headers or {}))


def rows_of(admin_db: psycopg.Connection[DictRow], events: Sequence[CarEvent]) -> tuple[int, int, int]:
    """car_events, car_event_entities and outbox rows of these events' uuids."""
    ids = [event.event_id for event in events]
    row = admin_db.execute(
        "SELECT (SELECT count(*) FROM car_events WHERE event_id = ANY(%(ids)s)) AS events,"
        " (SELECT count(*) FROM car_event_entities WHERE event_id = ANY(%(ids)s)) AS entities,"
        " (SELECT count(*) FROM outbox WHERE payload->>'eventId' = ANY(%(ids)s::text[])) AS outbox",
        {"ids": ids},
    ).fetchone()
    assert row is not None
    return row["events"], row["entities"], row["outbox"]


def total_rows(admin_db: psycopg.Connection[DictRow]) -> dict[str, Any] | None:
    return admin_db.execute(
        "SELECT (SELECT count(*) FROM car_events) AS events,"
        " (SELECT count(*) FROM car_event_entities) AS entities, (SELECT count(*) FROM outbox) AS outbox"
    ).fetchone()


def connect() -> psycopg.Connection[DictRow]:
    return psycopg.connect(**app_conninfo(), autocommit=True, row_factory=dict_row)


def in_thread(work: Callable[[], list[service.Outcome]]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # asserted by the caller
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result
