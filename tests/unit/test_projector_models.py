"""What the projector accepts as a car event, and how it names what is wrong with a poison message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from labcore.consumer import PoisonMessage
from projector.service import parse
from projector_events import car_event


def test_the_contracts_event_parses_with_exact_money_and_aware_times() -> None:
    payload = car_event("CAR-7", updated_at="2024-02-01T08:00:00+02:00", total_balance="1234.50")
    event = parse(payload)
    assert event.event_id == uuid.UUID(payload["eventId"])
    car = event.entity
    assert (car.entity_header.entity_id, car.id, car.year, car.mileage) == ("CAR-7", "CAR-7", 2025, 0)
    assert car.total_balance == Decimal("1234.50")
    assert str(car.total_balance) == "1234.50", "exact, never through a float"
    assert car.entity_header.updated_at == datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
    assert (car.color, car.owner, car.last_loan_payment_date) == ("Midnight Silver", "John Doe", None)


def test_nullable_fields_may_be_null_and_unknown_keys_are_ignored() -> None:
    payload = car_event(color=None, owner=None, lastServiceDate=None, warranty="none")
    payload["traceId"] = "t-1"
    car = parse(payload).entity
    assert (car.color, car.owner, car.last_service_date) == (None, None, None)


def without(path: str) -> dict[str, Any]:
    payload = car_event()
    *parents, key = path.split(".")
    target = payload
    for parent in parents:
        target = target[parent]
    del target[key]
    return payload


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (without("eventId"), "eventId: Field required"),
        (without("entity"), "entity: Field required"),
        (without("entity.entityHeader.updatedAt"), "entity.entityHeader.updatedAt: Field required"),
        (without("entity.color"), "entity.color: Field required"),  # nullable, but the key must be there
        (without("entity.totalBalance"), "entity.totalBalance: Field required"),
        ({**car_event(), "eventId": "not-a-uuid"}, "eventId: Input should be a valid UUID"),
        (car_event(totalBalance=12.5), "entity.totalBalance: Value error, must be a decimal string"),
        (car_event(total_balance="12.345"), "entity.totalBalance: Decimal input should have no more than 2"),
        (car_event(total_balance="-1.00"), "entity.totalBalance: Input should be greater than or equal to 0"),
        (car_event(total_balance="NaN"), "entity.totalBalance"),
        (car_event(mileage=-1), "entity.mileage: Input should be greater than or equal to 0"),
        (car_event(year="2025"), "entity.year: Input should be a valid integer"),
        (
            car_event(updated_at="2024-01-15T10:30:00"),
            "entity.entityHeader.updatedAt: Input should have timezone",
        ),
        (car_event(id="CAR-OTHER"), "entity: Value error, id must equal entityHeader.entityId"),
        (car_event(make=""), "entity.make: String should have at least 1 character"),
        (
            car_event(entityHeader={**car_event()["entity"]["entityHeader"], "entityType": "Truck"}),
            "entityType",
        ),
    ],
)
def test_a_payload_that_is_not_a_car_event_is_poison_named_by_field(
    payload: dict[str, Any], problem: str
) -> None:
    with pytest.raises(PoisonMessage, match=r"^not a car event") as raised:
        parse(payload)
    assert problem in str(raised.value), str(raised.value)
