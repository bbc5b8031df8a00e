"""The car event's rules: the samples, the JSON Schema and the pydantic models agree, at each boundary."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from event_samples import (
    EXAMPLE,
    SAMPLES,
    SCHEMA,
    VALID_FILES,
    VALIDATOR,
    body_with_balance,
    car,
    example,
    load,
    problems,
    with_header,
)
from events_api.models import MAX_BALANCE, MAX_ENTITIES, MAX_MILEAGE, CarEvent

INVALID: dict[str, dict[str, str]] = load(SAMPLES / "manifest.json")["invalid"]
INVALID_FILES = sorted(path.name for path in (SAMPLES / "invalid").glob("*.json"))

# Rules that compare two fields (or items by a field): JSON Schema cannot state them, so these samples
# pass the schema and fail only the models. The schema's description lists the same rules.
SCHEMA_CANNOT_EXPRESS = {
    "saved-date-before-created.json": "savedDate >= createdDate",
    "saved-date-offset-before-created.json": "savedDate >= createdDate",
    "updated-before-created.json": "entityHeader.updatedAt >= entityHeader.createdAt",
    "id-not-entity-id.json": "id == entityHeader.entityId",
    "year-two-after-created.json": "year <= entityHeader.createdAt's year + 1",
    "entities-same-car-twice.json": "no entity id twice in one event",
}


# --- the corpus: samples, schema and models agree --------------------------------------------------


def test_the_corpus_is_whole() -> None:
    assert set(INVALID_FILES) == set(INVALID), "every invalid sample is in the manifest and vice versa"
    assert set(SCHEMA_CANNOT_EXPRESS) <= set(INVALID)
    assert {"car-created.json", "car-updated.json", "two-entities.json"} <= set(VALID_FILES)


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", VALID_FILES)
def test_valid_samples_pass_the_models_and_the_schema(name: str) -> None:
    data = load(SAMPLES / "valid" / name)
    assert CarEvent.model_validate(data).event_id == UUID(data["eventHeader"]["uuid"])
    assert [error.message for error in VALIDATOR.iter_errors(data)] == []


@pytest.mark.parametrize("name", INVALID_FILES)
def test_each_invalid_sample_fails_at_its_field(name: str) -> None:
    data = load(SAMPLES / "invalid" / name)
    assert list(problems(data)) == [INVALID[name]["field"]]


# Most validators take "format" as an annotation only (the 2020-12 default): the patterns carry the
# uuid and timestamp rules by themselves, all but the calendar (February 30), which needs the format.
PATTERNS_ONLY = Draft202012Validator(SCHEMA)
NEEDS_THE_FORMAT = {"service-date-february-30.json"}


@pytest.mark.parametrize("name", INVALID_FILES)
def test_the_schema_agrees_on_each_invalid_sample(name: str) -> None:
    data = load(SAMPLES / "invalid" / name)
    assert PATTERNS_ONLY.is_valid(data) is (name in SCHEMA_CANNOT_EXPRESS.keys() | NEEDS_THE_FORMAT)
    if name in SCHEMA_CANNOT_EXPRESS:
        assert VALIDATOR.is_valid(data), f"{name} is listed as beyond the schema but the schema rejects it"
        return
    error = best_match(VALIDATOR.iter_errors(data))
    assert error is not None, f"the schema accepts {name}"
    # The schema points at the field, or at its object for an unknown or a missing field.
    schema_path = ".".join(str(part) for part in error.absolute_path)
    assert INVALID[name]["field"].startswith(schema_path)


# --- each rule at its boundary, in both --------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "valid"),
    [
        ({"year": 1886}, True),
        ({"year": 1885}, False),
        ({"mileage": MAX_MILEAGE}, True),
        ({"mileage": MAX_MILEAGE + 1}, False),
        ({"mileage": Decimal("5.0")}, False),  # a JSON 5.0: integers are written as integers
        ({"mileage": True}, False),
        ({"totalBalance": MAX_BALANCE}, True),
        ({"totalBalance": MAX_BALANCE + Decimal("0.01")}, False),
        ({"totalBalance": Decimal("12.3")}, True),
        ({"totalBalance": Decimal("12.300")}, True),  # 12.30 exactly: the zeros carry no precision
        ({"totalBalance": Decimal("12.301")}, False),
        ({"totalBalance": Decimal("1E+2")}, True),
        ({"totalBalance": Decimal("1E-3")}, False),
        ({"totalBalance": Decimal("-0.0")}, True),
        ({"totalBalance": 7}, True),
        ({"totalBalance": "9999999.99"}, True),
        ({"totalBalance": "10000000"}, False),
        ({"totalBalance": "-1.00"}, False),
        ({"totalBalance": "01.50"}, False),
        ({"totalBalance": "1.5e2"}, False),
        ({"totalBalance": " 1.50"}, False),
        ({"totalBalance": "NaN"}, False),
        ({"totalBalance": None}, False),
        ({"vin": "WDB0000001BENZ001"}, True),
        ({"vin": "5TDJKRFH4LS12345Q"}, False),
        ({"vin": "5TDJKRFH4LS1234567"}, False),
        ({"owner": None, "color": None}, True),
        ({"owner": "O" * 200}, True),
        ({"owner": " John "}, True),
        ({"lastServiceDate": "2024-01-15T10:30:00.5+05:30"}, True),
        ({"lastServiceDate": "2024-01-15T10:30:00+0530"}, False),
        ({"lastServiceDate": "2024-01-15T10:30Z"}, False),
        ({"lastServiceDate": "2024-01-15t10:30:00z"}, False),
        ({"lastServiceDate": "2024-01-15T24:00:00Z"}, False),
        ({"lastServiceDate": "2024-01-15T23:59:60Z"}, False),
        ({"lastServiceDate": "2024-02-29T10:30:00Z"}, True),
        ({"lastServiceDate": "2023-02-29T10:30:00Z"}, False),
        ({"lastServiceDate": "2024-13-01T10:30:00Z"}, False),
        ({"lastServiceDate": "2024-12-32T10:30:00Z"}, False),
        ({"lastServiceDate": "2024-01-15T10:30:00+24:00"}, False),
        ({"lastServiceDate": "2099-12-31T23:59:59-23:59"}, True),
        ({"lastServiceDate": "2100-01-01T00:00:00Z"}, False),
        ({"lastServiceDate": "2024-01-15"}, False),
        # A trailing newline: Python's re lets "$" match before it, which the schema's patterns refuse.
        ({"vin": "5TDJKRFH4LS123456\n"}, False),
        ({"id": "CAR-2024-001\n"}, False),
        ({"lastServiceDate": "2024-01-15T10:30:00Z\n"}, False),
        ({"totalBalance": "1.00\n"}, False),
    ],
)
def test_the_models_and_the_schema_agree_at_the_boundaries(entity: dict[str, Any], valid: bool) -> None:
    data = example(**entity)
    assert VALIDATOR.is_valid(data) is valid
    assert PATTERNS_ONLY.is_valid(data) is (valid or "2023-02-29" in str(entity))
    if valid:
        CarEvent.model_validate(data)
    else:
        assert list(problems(data)) == [f"entities.0.{next(iter(entity))}"]


def test_only_the_payload_names_are_accepted() -> None:
    data = {"event_header": EXAMPLE["eventHeader"], "entities": EXAMPLE["entities"]}
    assert sorted(problems(data)) == ["eventHeader", "event_header"]  # missing, and unknown
    assert not VALIDATOR.is_valid(data)


def test_at_most_max_entities() -> None:
    data = copy.deepcopy(EXAMPLE)
    data["entities"] = [car(number) for number in range(MAX_ENTITIES)]
    assert len(CarEvent.model_validate(data).entities) == MAX_ENTITIES
    assert VALIDATOR.is_valid(data)
    data["entities"].append(car(MAX_ENTITIES))
    assert list(problems(data)) == ["entities"]
    assert not VALIDATOR.is_valid(data)


def test_saved_may_equal_created_and_year_may_be_the_next() -> None:
    data = with_header(savedDate=EXAMPLE["eventHeader"]["createdDate"])
    assert data["entities"][0]["year"] == 2025  # the car: created in 2024, model year 2025
    event = CarEvent.model_validate(data)
    assert event.event_header.saved_date == event.event_header.created_date


@pytest.mark.parametrize(
    "uuid",
    [
        "550E8400-E29B-41D4-A716-446655440000",
        "{550e8400-e29b-41d4-a716-446655440000}",
        "550e8400-e29b-41d4-a716-446655440000\n",
    ],
)
def test_uuid_case_is_free_but_nothing_else_is(uuid: str) -> None:
    data = with_header(uuid=uuid)
    valid = uuid[0].isalnum() and uuid[-1].isalnum()
    assert VALIDATOR.is_valid(data) is valid
    assert PATTERNS_ONLY.is_valid(data) is valid
    if valid:
        assert CarEvent.model_validate(data).event_id == UUID(uuid)
    else:
        assert list(problems(data)) == ["eventHeader.uuid"]


def test_messages_say_what_is_wrong() -> None:
    assert problems(with_header(savedDate="2024-01-15T10:29:59Z")) == {
        "eventHeader.savedDate": "must not be before createdDate"
    }
    assert problems(example(id="CAR-X")) == {"entities.0.id": "must equal entityHeader.entityId"}
    assert problems(example(totalBalance=Decimal("1.005"))) == {
        "entities.0.totalBalance": "must have at most 2 decimal places"
    }
    naive = with_header(createdDate="2024-01-15T10:30:00")
    assert "time zone" in problems(naive)["eventHeader.createdDate"]
    data = copy.deepcopy(EXAMPLE)
    data["entities"] = [car(1), car(2), car(1)]
    assert problems(data) == {"entities": "must not carry a car twice: CAR-1"}


# --- never float ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("totalBalance", 0.1), ("totalBalance", 0.0), ("mileage", 0.0), ("year", 2025.0)]
)
def test_a_python_float_is_refused(field: str, value: float) -> None:
    # A float may already be off (0.1 + 0.2) before it gets here: the API never makes one.
    assert list(problems(example(**{field: value}))) == [f"entities.0.{field}"]


def test_a_balance_stays_exact() -> None:
    event = CarEvent.model_validate(body_with_balance("9999999.97"))
    assert event.entities[0].total_balance == Decimal("9999999.97")
    assert event.to_json()["entities"][0]["totalBalance"] == "9999999.97"


@given(st.decimals(min_value=0, max_value=MAX_BALANCE, places=2))
def test_any_balance_in_range_round_trips_exactly(balance: Decimal) -> None:
    data = example(totalBalance=balance)
    assert VALIDATOR.is_valid(data)
    stored = CarEvent.model_validate(data).to_json()["entities"][0]["totalBalance"]
    assert Decimal(stored) == balance
    assert stored == format(balance.quantize(Decimal("0.01")), "f")
