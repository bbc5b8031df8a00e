"""Projecting one car event exactly once: the inbox row and the upsert share the caller's transaction.

The upsert keeps the state with the newest updatedAt: an update whose updatedAt is older than the
row's, or EQUAL to it, changes nothing ("stale"). Equal is stale so that a redrive or republish of
an event can never replace another event's state carrying the same timestamp: the first one applied
stays, whatever the delivery order; a producer that changes a car must advance its updatedAt.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from pydantic import ValidationError

from labcore.consumer import PoisonMessage, first_receipt
from projector.models import CarEventMessage

CONSUMER = "projector"

UPSERT = """
INSERT INTO car_entities (
    entity_id, entity_type, vin, make, model, year, color, mileage, last_service_date,
    total_balance, last_loan_payment_date, owner, created_at, updated_at, last_event_id)
VALUES (
    %(entity_id)s, %(entity_type)s, %(vin)s, %(make)s, %(model)s, %(year)s, %(color)s, %(mileage)s,
    %(last_service_date)s, %(total_balance)s, %(last_loan_payment_date)s, %(owner)s, %(created_at)s,
    %(updated_at)s, %(last_event_id)s)
ON CONFLICT (entity_id) DO UPDATE SET
    entity_type = EXCLUDED.entity_type, vin = EXCLUDED.vin, make = EXCLUDED.make,
    model = EXCLUDED.model, year = EXCLUDED.year, color = EXCLUDED.color, mileage = EXCLUDED.mileage,
    last_service_date = EXCLUDED.last_service_date, total_balance = EXCLUDED.total_balance,
    last_loan_payment_date = EXCLUDED.last_loan_payment_date, owner = EXCLUDED.owner,
    created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
    last_event_id = EXCLUDED.last_event_id, projected_at = now()
WHERE car_entities.updated_at < EXCLUDED.updated_at
"""


def parse(payload: dict[str, Any]) -> CarEventMessage:
    """The typed event; what is wrong with it, by field, when it is not one."""
    try:
        return CarEventMessage.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise PoisonMessage(f"not a car event ({problems})") from exc


def project(conn: psycopg.Connection[DictRow], message_key: str, payload: dict[str, Any]) -> str:
    """Record the message in the inbox and upsert the car: "applied", "stale" or "duplicate"."""
    event = parse(payload)
    if not first_receipt(conn, CONSUMER, message_key):
        return "duplicate"
    car = event.entity
    written = conn.execute(
        UPSERT,
        {
            "entity_id": car.entity_header.entity_id,
            "entity_type": car.entity_header.entity_type,
            "vin": car.vin,
            "make": car.make,
            "model": car.model,
            "year": car.year,
            "color": car.color,
            "mileage": car.mileage,
            "last_service_date": car.last_service_date,
            "total_balance": car.total_balance,
            "last_loan_payment_date": car.last_loan_payment_date,
            "owner": car.owner,
            "created_at": car.entity_header.created_at,
            "updated_at": car.entity_header.updated_at,
            "last_event_id": event.event_id,
        },
    ).rowcount
    return "applied" if written else "stale"
