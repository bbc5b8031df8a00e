"""The car event's canonical form (what is stored and hashed) and its fingerprint."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from event_samples import (
    EXAMPLE,
    SAMPLES,
    VALID_FILES,
    VALIDATOR,
    body_with_balance,
    car,
    example,
    fingerprint,
    load,
    problems,
    with_header,
)
from events_api.models import CarEvent


def test_the_canonical_form() -> None:
    canonical = CarEvent.model_validate(load(SAMPLES / "valid" / "car-updated.json")).to_json()
    header, entity = canonical["eventHeader"], canonical["entities"][0]
    assert header["createdDate"] == "2024-03-02T08:15:00Z"  # written as 09:15:00+01:00
    assert header["savedDate"] == "2024-03-02T08:15:00.250000Z"
    assert header["uuid"] == "6fa459ea-ee8a-3ca4-894e-db77e160355e"
    assert entity["totalBalance"] == "45999.50"
    assert entity["entityHeader"]["updatedAt"] == "2024-03-02T08:15:00Z"
    assert list(canonical) == ["eventHeader", "entities"]
    assert list(entity)[:3] == ["entityHeader", "id", "vin"]
    assert CarEvent.model_validate(canonical).to_json() == canonical  # the stored form reads back


@pytest.mark.parametrize("name", VALID_FILES)
def test_the_canonical_form_is_plain_json_and_passes_the_schema(name: str) -> None:
    canonical = CarEvent.model_validate(load(SAMPLES / "valid" / name)).to_json()
    text = json.dumps(canonical)  # no Decimal, datetime or UUID left in it
    assert VALIDATOR.is_valid(json.loads(text, parse_float=Decimal))
    assert {(type(e["mileage"]), type(e["totalBalance"])) for e in canonical["entities"]} == {(int, str)}
    assert CarEvent.model_validate(json.loads(text)).to_json() == canonical


def test_properties_are_the_root_fields_without_the_header() -> None:
    properties = CarEvent.model_validate(EXAMPLE).entities[0].properties()
    written = {key: value for key, value in EXAMPLE["entities"][0].items() if key != "entityHeader"}
    assert properties == {**written, "totalBalance": "0.00"}  # the rest already in canonical form


def reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


def _with_timestamps(created: str) -> dict[str, Any]:
    data = example(lastServiceDate=created, lastLoanPaymentDate=created)
    data["eventHeader"]["createdDate"] = created
    data["entities"][0]["entityHeader"].update(createdAt=created, updatedAt=created)
    return data


SAME_EVENT = {
    "balance 0": example(totalBalance=0),
    "balance 0.00": example(totalBalance=Decimal("0.00")),
    "balance -0.0": example(totalBalance=Decimal("-0.0")),
    "balance 0E+3": example(totalBalance=Decimal("0E+3")),
    "balance '0'": example(totalBalance="0"),
    "balance '0.00'": example(totalBalance="0.00"),
    "+00:00": _with_timestamps("2024-01-15T10:30:00+00:00"),
    "-00:00": _with_timestamps("2024-01-15T10:30:00-00:00"),
    "+02:00": _with_timestamps("2024-01-15T12:30:00+02:00"),
    "-05:00": _with_timestamps("2024-01-15T05:30:00-05:00"),
    "fraction zero": _with_timestamps("2024-01-15T10:30:00.000Z"),
    "upper-case uuid": with_header(uuid="550E8400-E29B-41D4-A716-446655440000"),
    "keys in reverse order": reordered(EXAMPLE),
    **{
        f"balance {written} in the body": body_with_balance(written)
        for written in ("0", "0.00", "-0", "0.0E-1")
    },
}


@pytest.mark.parametrize("name", SAME_EVENT)
def test_the_same_event_written_differently_has_the_same_fingerprint(name: str) -> None:
    assert fingerprint(SAME_EVENT[name]) == fingerprint(EXAMPLE)


def test_absent_and_null_optionals_are_the_same_event() -> None:
    absent = load(SAMPLES / "valid" / "optional-fields-absent.json")
    null = load(SAMPLES / "valid" / "optional-fields-null.json")
    null["eventHeader"]["uuid"] = absent["eventHeader"]["uuid"]
    assert fingerprint(absent) == fingerprint(null)


OTHER_EVENT = {
    "uuid": with_header(uuid="550e8400-e29b-41d4-a716-446655440001"),
    "eventName": with_header(eventName="Car Registered"),
    "eventType": with_header(eventType="CarRegistered"),
    "savedDate one microsecond later": with_header(savedDate="2024-01-15T10:30:05.000001Z"),
    "balance one cent": example(totalBalance=Decimal("0.01")),
    "mileage": example(mileage=1),
    "year": example(year=2024),
    "color": example(color="Pearl White"),
    "color null": {**EXAMPLE, "entities": [{**EXAMPLE["entities"][0], "color": None}]},
    "owner": example(owner="John Doe "),
    "vin": example(vin="5TDJKRFH4LS123457"),
    "lastServiceDate": example(lastServiceDate="2024-01-15T10:30:01Z"),
    "updatedAt": example(
        entityHeader={**EXAMPLE["entities"][0]["entityHeader"], "updatedAt": "2024-01-16T00:00:00Z"}
    ),
    "a second car": {**EXAMPLE, "entities": [*EXAMPLE["entities"], car(2)]},
}


@pytest.mark.parametrize("name", OTHER_EVENT)
def test_a_different_event_has_a_different_fingerprint(name: str) -> None:
    assert fingerprint(OTHER_EVENT[name]) != fingerprint(EXAMPLE)


def test_the_order_of_the_entities_is_part_of_the_event() -> None:
    two = load(SAMPLES / "valid" / "two-entities.json")
    assert fingerprint({**two, "entities": two["entities"][::-1]}) != fingerprint(two)


def test_python_values_are_accepted_and_normalized() -> None:
    """What a Python caller (a test, the projector) may pass: aware datetimes, UUIDs, Decimals."""
    plus_two = timezone(timedelta(hours=2))
    data = with_header(
        uuid=UUID(EXAMPLE["eventHeader"]["uuid"]),
        createdDate=datetime(2024, 1, 15, 12, 30, tzinfo=plus_two),
    )
    event = CarEvent.model_validate(data)
    assert event.event_header.created_date == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert event.event_header.created_date.tzinfo is UTC
    assert event.fingerprint() == fingerprint(EXAMPLE)
    assert list(problems(with_header(createdDate=datetime(2024, 1, 15, 10, 30)))) == [
        "eventHeader.createdDate"
    ]
