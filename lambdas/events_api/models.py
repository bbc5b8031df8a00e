"""The car event as the events API accepts it (pydantic v2; schemas/car-event.schema.json agrees)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_ENTITIES = 50  # entities in one event
MAX_BULK_EVENTS = 100  # events in one POST /api/v1/events/bulk

Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
EntityId = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
Vin = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-HJ-NPR-Z0-9]{17}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class EventHeader(_Model):
    uuid: UUID
    event_name: Text = Field(alias="eventName")
    event_type: Text = Field(alias="eventType")
    created_date: AwareDatetime = Field(alias="createdDate")
    saved_date: AwareDatetime = Field(alias="savedDate")

    @model_validator(mode="after")
    def _saved_after_created(self) -> EventHeader:
        if self.saved_date < self.created_date:
            raise ValueError("savedDate must not be before createdDate")
        return self


class EntityHeader(_Model):
    entity_id: EntityId = Field(alias="entityId")
    entity_type: Literal["Car"] = Field(alias="entityType")
    created_at: AwareDatetime = Field(alias="createdAt")
    updated_at: AwareDatetime = Field(alias="updatedAt")


class CarEntity(_Model):
    """A car's whole state at `entity_header.updated_at` (event-carried state transfer)."""

    entity_header: EntityHeader = Field(alias="entityHeader")
    id: EntityId
    vin: Vin
    make: Text
    model: Text
    year: int = Field(ge=1886, le=2100)
    color: Text | None = None
    mileage: int = Field(ge=0)
    last_service_date: AwareDatetime | None = Field(default=None, alias="lastServiceDate")
    total_balance: Decimal = Field(alias="totalBalance", ge=0, decimal_places=2)
    last_loan_payment_date: AwareDatetime | None = Field(default=None, alias="lastLoanPaymentDate")
    owner: Text | None = None

    @model_validator(mode="after")
    def _id_is_the_entity_id(self) -> CarEntity:
        if self.id != self.entity_header.entity_id:
            raise ValueError("id must equal entityHeader.entityId")
        return self

    def properties(self) -> dict[str, Any]:
        """The entity's root fields as JSON (camelCase, decimals as strings), without its header."""
        body = self.model_dump(mode="json", by_alias=True, exclude={"entity_header"})
        body["totalBalance"] = format(self.total_balance, "f")
        return body


class CarEvent(_Model):
    """Body of POST /api/v1/events, and each item of a bulk request."""

    event_header: EventHeader = Field(alias="eventHeader")
    entities: list[CarEntity] = Field(min_length=1, max_length=MAX_ENTITIES)

    @property
    def event_id(self) -> UUID:
        return self.event_header.uuid

    def to_json(self) -> dict[str, Any]:
        """The event in its canonical JSON form (what is stored, and what is hashed)."""
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
