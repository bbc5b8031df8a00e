"""The car event as the events API accepts it (pydantic v2; schemas/car-event.schema.json agrees)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

MAX_ENTITIES = 50  # entities in one event
MAX_BULK_EVENTS = 100  # events in one POST /api/v1/events/bulk
FIRST_CAR_YEAR = 1886  # the Benz Patent-Motorwagen
MAX_MILEAGE = 5_000_000  # the record for one car is about 3.3 million miles
MAX_BALANCE = Decimal("9999999.99")  # a car balance of ten million or more is a mistake
TIMESTAMP_YEARS = range(1900, 2100)  # the year as written; its UTC form then never overflows

_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 3339 with a mandatory offset; at most microseconds, which a datetime holds without rounding.
_TIMESTAMP_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_BALANCE_TEXT = re.compile(r"(0|[1-9][0-9]{0,6})(\.[0-9]{1,2})?")
_CENT = Decimal("0.01")


def _uuid_text(value: object) -> object:
    if isinstance(value, UUID) or (isinstance(value, str) and _UUID_TEXT.fullmatch(value)):
        return value
    raise ValueError("must be a UUID in its canonical form, such as 550e8400-e29b-41d4-a716-446655440000")


def _not_nil(value: UUID) -> UUID:
    if value.int == 0:
        raise ValueError("must not be the nil UUID")
    return value


def _timestamp_text(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _TIMESTAMP_TEXT.fullmatch(value)):
        return value
    raise ValueError("must be an ISO 8601 timestamp with a time zone, such as 2024-01-15T10:30:00Z")


def _in_utc(value: datetime) -> datetime:
    """One instant, one form: "+02:00" and "Z" spellings of it store and hash the same."""
    if value.year not in TIMESTAMP_YEARS:
        raise ValueError(f"must be in the years {TIMESTAMP_YEARS.start} to {TIMESTAMP_YEARS.stop - 1}")
    return value.astimezone(UTC)


def _balance(value: object) -> Decimal:
    """A JSON number (Decimal or int: the body is parsed with parse_float=Decimal) or a decimal string.

    A Python float is refused: it may already be off (0.1 + 0.2) by the time it gets here.
    """
    if isinstance(value, str) and _BALANCE_TEXT.fullmatch(value):
        value = Decimal(value)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError('must be a JSON number or a decimal string such as "12.50"')
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a non-negative number")
    if amount > MAX_BALANCE:
        raise ValueError(f"must be at most {MAX_BALANCE}")
    if amount.quantize(_CENT) != amount:
        raise ValueError("must have at most 2 decimal places")
    return abs(amount.quantize(_CENT))  # abs: -0.00 is 0.00


Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200, pattern=r"\S")]
EntityId = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
ENTITY_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"  # EntityId's rules in one pattern (a path parameter's)
Vin = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-HJ-NPR-Z0-9]{17}$")]
EventUuid = Annotated[UUID, BeforeValidator(_uuid_text), AfterValidator(_not_nil)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text), AfterValidator(_in_utc)]
Balance = Annotated[Decimal, BeforeValidator(_balance)]
Count = Annotated[int, Strict()]  # a JSON integer: not 5.0, "5" or true


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


def _not_before(field: str, earlier: str, info: ValidationInfo, value: datetime) -> datetime:
    start = info.data.get(earlier)  # absent when that field was itself invalid
    if start is not None and value < start:
        raise ValueError(f"must not be before {field}")
    return value


class EventHeader(_Model):
    uuid: EventUuid
    event_name: Text = Field(alias="eventName")
    event_type: Text = Field(alias="eventType")
    created_date: Timestamp = Field(alias="createdDate")
    saved_date: Timestamp = Field(alias="savedDate")

    @field_validator("saved_date")
    @classmethod
    def _saved_after_created(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _not_before("createdDate", "created_date", info, value)


class EntityHeader(_Model):
    entity_id: EntityId = Field(alias="entityId")
    entity_type: Literal["Car"] = Field(alias="entityType")
    created_at: Timestamp = Field(alias="createdAt")
    updated_at: Timestamp = Field(alias="updatedAt")

    @field_validator("updated_at")
    @classmethod
    def _updated_after_created(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _not_before("createdAt", "created_at", info, value)


class CarEntity(_Model):
    """A car's whole state at `entity_header.updated_at` (event-carried state transfer)."""

    entity_header: EntityHeader = Field(alias="entityHeader")
    id: EntityId
    vin: Vin
    make: Text
    model: Text
    year: Count = Field(ge=FIRST_CAR_YEAR)
    color: Text | None = None
    mileage: Count = Field(ge=0, le=MAX_MILEAGE)
    last_service_date: Timestamp | None = Field(default=None, alias="lastServiceDate")
    total_balance: Balance = Field(alias="totalBalance")
    last_loan_payment_date: Timestamp | None = Field(default=None, alias="lastLoanPaymentDate")
    owner: Text | None = None

    @field_validator("id")
    @classmethod
    def _id_is_the_entity_id(cls, value: str, info: ValidationInfo) -> str:
        header = info.data.get("entity_header")
        if header is not None and value != header.entity_id:
            raise ValueError("must equal entityHeader.entityId")
        return value

    @field_validator("year")
    @classmethod
    def _year_is_plausible(cls, value: int, info: ValidationInfo) -> int:
        # A model year runs at most one year ahead of the calendar: bounded by the record, not the clock.
        header = info.data.get("entity_header")
        if header is not None and value > header.created_at.year + 1:
            raise ValueError("must be at most the year after entityHeader.createdAt")
        return value

    def properties(self) -> dict[str, Any]:
        """The entity's root fields as JSON (camelCase, decimals as strings), without its header."""
        body = self.model_dump(mode="json", by_alias=True, exclude={"entity_header"})
        body["totalBalance"] = format(self.total_balance, "f")
        return body


class CarEvent(_Model):
    """Body of POST /api/v1/events, and each item of a bulk request."""

    event_header: EventHeader = Field(alias="eventHeader")
    entities: list[CarEntity] = Field(min_length=1, max_length=MAX_ENTITIES)

    @field_validator("entities")
    @classmethod
    def _one_state_per_car(cls, value: list[CarEntity]) -> list[CarEntity]:
        ids = [entity.id for entity in value]
        repeated = sorted({entity_id for entity_id in ids if ids.count(entity_id) > 1})
        if repeated:
            raise ValueError(f"must not carry a car twice: {', '.join(repeated)}")
        return value

    @property
    def event_id(self) -> UUID:
        return self.event_header.uuid

    def to_json(self) -> dict[str, Any]:
        """The event in its canonical JSON form (what is stored, and what is hashed).

        Timestamps in UTC with "Z", totalBalance a string with 2 places, absent optionals as null.
        """
        return {
            "eventHeader": self.event_header.model_dump(mode="json", by_alias=True),
            "entities": [
                {
                    "entityHeader": entity.entity_header.model_dump(mode="json", by_alias=True),
                    **entity.properties(),
                }
                for entity in self.entities
            ],
        }

    def fingerprint(self) -> str:
        """Hash of the event's content: the same uuid must come with the same event."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


# What the events API answers (documented in its OpenAPI document; the handler writes these shapes).


class EventReceipt(_Model):
    """201 (stored) or 200 (the same event again) of POST /api/v1/events."""

    event_id: UUID = Field(alias="eventId")
    duplicate: bool
    entities: int = Field(ge=1, le=MAX_ENTITIES)


class ItemProblem(_Model):
    field: str
    message: str


class BulkResult(_Model):
    """One item of a bulk request, at its index: its outcome, or why it is invalid."""

    index: int = Field(ge=0)
    status: Literal["created", "duplicate", "conflict", "invalid"]
    event_id: UUID | None = Field(default=None, alias="eventId", description="absent when invalid")
    errors: list[ItemProblem] | None = Field(default=None, description="only when invalid")


class BulkSummary(_Model):
    created: int = Field(ge=0)
    duplicate: int = Field(ge=0)
    conflict: int = Field(ge=0)
    invalid: int = Field(ge=0)


class BulkReceipt(_Model):
    """200 of POST /api/v1/events/bulk: one result per item, in order, and the counts."""

    results: list[BulkResult]
    summary: BulkSummary


class BulkRequest(_Model):
    """Body of POST /api/v1/events/bulk: each item is checked on its own (an invalid one is reported)."""

    events: list[CarEvent] = Field(min_length=1, max_length=MAX_BULK_EVENTS)


class Health(_Model):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]


class EntityHeaderView(_Model):
    entity_id: str = Field(alias="entityId")
    entity_type: str = Field(alias="entityType")
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


class EntityView(_Model):
    """200 of GET /api/v1/entities/{entity_id}: the car as projected from its latest event."""

    entity_header: EntityHeaderView = Field(alias="entityHeader")
    id: str
    vin: str
    make: str
    model: str
    year: int
    color: str | None
    mileage: int
    last_service_date: datetime | None = Field(alias="lastServiceDate")
    total_balance: str = Field(alias="totalBalance", pattern=r"^[0-9]+\.[0-9]{2}$")
    last_loan_payment_date: datetime | None = Field(alias="lastLoanPaymentDate")
    owner: str | None
    last_event_id: UUID = Field(alias="lastEventId")
    projected_at: datetime = Field(alias="projectedAt")
