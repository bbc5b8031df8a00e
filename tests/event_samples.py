"""The car event samples, the JSON Schema and small builders, for the tests of the event's rules."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from events_api.models import CarEvent
from labcore.http import validation_problems

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "events"
SCHEMA_FILE = ROOT / "schemas" / "car-event.schema.json"


def load(path: Path) -> Any:
    """As the API reads a body: JSON numbers as Decimal or int, never float."""
    return json.loads(path.read_text(), parse_float=Decimal)


SCHEMA = load(SCHEMA_FILE)
# Format assertion is off by default in 2020-12: the checker makes "uuid" and "date-time" count.
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
VALID_FILES = sorted(path.name for path in (SAMPLES / "valid").glob("*.json"))
EXAMPLE: dict[str, Any] = load(SAMPLES / "valid" / "car-created.json")


def problems(data: Any) -> dict[str, str]:
    """Field -> message of each problem the API would report for `data` (each field once)."""
    with pytest.raises(ValidationError) as caught:
        CarEvent.model_validate(data)
    found = validation_problems(caught.value)
    assert len({problem.field for problem in found}) == len(found)
    return {problem.field: problem.message for problem in found}


def example(**entity: Any) -> dict[str, Any]:
    """The issue's event with some of its entity's fields replaced."""
    data = copy.deepcopy(EXAMPLE)
    data["entities"][0].update(entity)
    return data


def with_header(**header: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    data["eventHeader"].update(header)
    return data


def car(number: int) -> dict[str, Any]:
    entity: dict[str, Any] = copy.deepcopy(EXAMPLE["entities"][0])
    entity["id"] = entity["entityHeader"]["entityId"] = f"CAR-{number}"
    return entity


def fingerprint(data: Any) -> str:
    return CarEvent.model_validate(data).fingerprint()


def body_with_balance(written: str) -> Any:
    """The issue's event with its balance written as `written` in the JSON text."""
    body = (SAMPLES / "valid" / "car-created.json").read_text()
    return json.loads(body.replace('"totalBalance": 0.0', f'"totalBalance": {written}'), parse_float=Decimal)
