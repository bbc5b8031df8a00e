"""Rules of the events API: store car events with their entities and outbox rows, idempotently by uuid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from events_api.models import CarEvent
from labcore import outbox, topics
from labcore.errors import Conflict, NotFound

type Outcome = Literal["created", "duplicate", "conflict"]

AGGREGATE_TYPE = "car"

# Sorted by uuid: concurrent requests sharing uuids take their row locks in one order, so they
# wait for each other instead of deadlocking. DO NOTHING: the loser waits for the winner's commit.
_INSERT_EVENTS = (
    "INSERT INTO car_events (event_id, event_name, event_type, created_date, saved_date, body, body_hash)"
    " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[],"
    " %s::jsonb[], %s::text[]) ORDER BY 1"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
_INSERT_ENTITIES = (
    "INSERT INTO car_event_entities"
    " (event_id, position, entity_id, entity_type, created_at, updated_at, properties)"
    " SELECT * FROM unnest(%s::uuid[], %s::smallint[], %s::text[], %s::text[], %s::timestamptz[],"
    " %s::timestamptz[], %s::jsonb[])"
)


@dataclass(frozen=True)
class _Item:
    """An event of the request with its canonical JSON computed once."""

    event: CarEvent
    body: dict[str, Any]
    body_hash: str


def ingest(
    conn: psycopg.Connection[DictRow], events: Sequence[CarEvent], headers: dict[str, str]
) -> list[Outcome]:
    """Store each new event with its entities and one outbox row per entity; report each in order.

    `created` for the first receipt of a uuid, `duplicate` for the same uuid with the same body
    (nothing written), `conflict` for the same uuid with another body (nothing written). Within a
    request the first item of a uuid decides. Runs inside the caller's transaction, in at most
    four statements whatever the number of events.
    """
    items = [_Item(event, event.to_json(), event.fingerprint()) for event in events]
    first_of: dict[UUID, _Item] = {}
    for item in items:
        first_of.setdefault(item.event.event_id, item)
    inserted = _insert_events(conn, list(first_of.values()))
    stored_hash = {event_id: first_of[event_id].body_hash for event_id in inserted}
    stored_hash |= _stored_hashes(conn, [event_id for event_id in first_of if event_id not in inserted])
    new = [first_of[event_id] for event_id in first_of if event_id in inserted]  # request order
    _insert_entities(conn, new)
    outbox.enqueue_many(conn, [message for item in new for message in _messages(item, headers)])
    outcomes: list[Outcome] = []
    for item in items:
        event_id = item.event.event_id
        if event_id in inserted and first_of[event_id] is item:
            outcomes.append("created")
        elif stored_hash[event_id] == item.body_hash:
            outcomes.append("duplicate")
        else:
            outcomes.append("conflict")
    return outcomes


def _insert_events(conn: psycopg.Connection[DictRow], items: list[_Item]) -> set[UUID]:
    if not items:
        return set()
    headers = [item.event.event_header for item in items]
    rows = conn.execute(
        _INSERT_EVENTS,
        (
            [header.uuid for header in headers],
            [header.event_name for header in headers],
            [header.event_type for header in headers],
            [header.created_date for header in headers],
            [header.saved_date for header in headers],
            [Jsonb(item.body) for item in items],
            [item.body_hash for item in items],
        ),
    ).fetchall()
    return {row["event_id"] for row in rows}


def _stored_hashes(conn: psycopg.Connection[DictRow], event_ids: list[UUID]) -> dict[UUID, str]:
    """The body hashes of events stored before: a statement of its own, so it sees their commit."""
    if not event_ids:
        return {}
    rows = conn.execute(
        "SELECT event_id, body_hash FROM car_events WHERE event_id = ANY(%s)", (event_ids,)
    ).fetchall()
    found = {row["event_id"]: row["body_hash"] for row in rows}
    if len(found) != len(event_ids):  # only if a row vanished between the two statements
        raise Conflict("a concurrent request with one of these event uuids did not complete; retry")
    return found


def _insert_entities(conn: psycopg.Connection[DictRow], items: list[_Item]) -> None:
    rows = [
        (item.event.event_id, position, entity)
        for item in items
        for position, entity in enumerate(item.event.entities)
    ]
    if not rows:
        return
    conn.execute(
        _INSERT_ENTITIES,
        (
            [event_id for event_id, _, _ in rows],
            [position for _, position, _ in rows],
            [entity.entity_header.entity_id for _, _, entity in rows],
            [entity.entity_header.entity_type for _, _, entity in rows],
            [entity.entity_header.created_at for _, _, entity in rows],
            [entity.entity_header.updated_at for _, _, entity in rows],
            [Jsonb(entity.properties()) for _, _, entity in rows],
        ),
    )


def _messages(item: _Item, headers: dict[str, str]) -> list[outbox.Message]:
    """One outbox message per entity: the projector's input, grouped by car on the FIFO queue."""
    header = item.body["eventHeader"]
    return [
        outbox.Message(
            aggregate_type=AGGREGATE_TYPE,
            aggregate_id=entity.entity_header.entity_id,
            topic=topics.CAR_EVENTS,
            event_type=item.event.event_header.event_type,
            payload={
                "eventId": str(item.event.event_id),
                "eventType": header["eventType"],
                "eventName": header["eventName"],
                "createdDate": header["createdDate"],
                "savedDate": header["savedDate"],
                "entity": entity_json,
            },
            headers=headers,
        )
        for entity, entity_json in zip(item.event.entities, item.body["entities"], strict=True)
    ]


def get_entity(conn: psycopg.Connection[DictRow], entity_id: str) -> dict[str, Any]:
    """The projected car as the API shows it (camelCase, like the events' entities)."""
    row = conn.execute("SELECT * FROM car_entities WHERE entity_id = %s", (entity_id,)).fetchone()
    if row is None:
        raise NotFound(f"entity {entity_id} not found")
    return {
        "entityHeader": {
            "entityId": row["entity_id"],
            "entityType": row["entity_type"],
            "createdAt": _timestamp(row["created_at"]),
            "updatedAt": _timestamp(row["updated_at"]),
        },
        "id": row["entity_id"],
        "vin": row["vin"],
        "make": row["make"],
        "model": row["model"],
        "year": row["year"],
        "color": row["color"],
        "mileage": row["mileage"],
        "lastServiceDate": _timestamp(row["last_service_date"]),
        "totalBalance": _money(row["total_balance"]),
        "lastLoanPaymentDate": _timestamp(row["last_loan_payment_date"]),
        "owner": row["owner"],
        "lastEventId": str(row["last_event_id"]),
        "projectedAt": _timestamp(row["projected_at"]),
    }


def _timestamp(value: datetime | None) -> str | None:
    """UTC with a Z, as pydantic writes an aware UTC datetime."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def check_database(conn: psycopg.Connection[DictRow]) -> None:
    """One round trip that only a live server answers (the health route's database check)."""
    conn.execute("SELECT 1")
