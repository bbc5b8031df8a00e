"""Valid car events as the events API takes them, for every layer of tests (one builder, many callers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

CREATED_AT = "2024-01-15T10:30:00Z"


def car_entity(
    entity_id: str,
    *,
    updated_at: str = CREATED_AT,
    mileage: int = 0,
    total_balance: Any = "0.00",
    **fields: Any,
) -> dict[str, Any]:
    """One car's whole state as of `updated_at` (the entity of an event); any field overridable."""
    return {
        "entityHeader": {
            "entityId": entity_id,
            "entityType": "Car",
            "createdAt": CREATED_AT,
            "updatedAt": updated_at,
        },
        "id": entity_id,
        "vin": "5TDJKRFH4LS123456",
        "make": "Tesla",
        "model": "Model S",
        "year": 2025,
        "color": "Midnight Silver",
        "mileage": mileage,
        "lastServiceDate": CREATED_AT,
        "totalBalance": total_balance,
        "lastLoanPaymentDate": None,
        "owner": "John Doe",
        **fields,
    }


def car_event(
    entity_ids: Sequence[str],
    *,
    event_id: uuid.UUID | str | None = None,
    updated_at: str = CREATED_AT,
    mileage: int = 0,
    total_balance: Any = "0.00",
    **header: str,
) -> dict[str, Any]:
    """An event (request body) with one car per id, each as of `updated_at`; header fields overridable."""
    return {
        "eventHeader": {
            "uuid": str(event_id or uuid.uuid4()),
            "eventName": "Car Updated",
            "eventType": "CarUpdated",
            "createdDate": updated_at,
            "savedDate": updated_at,
            **header,
        },
        "entities": [
            car_entity(entity_id, updated_at=updated_at, mileage=mileage, total_balance=total_balance)
            for entity_id in entity_ids
        ],
    }
