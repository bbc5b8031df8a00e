"""A car-events message as the events API writes it to the outbox: one event, one car's whole state."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

Text = Annotated[str, StringConstraints(strict=True, min_length=1)]


def _decimal_string(value: object) -> object:
    # The contract sends money as a string ("12.50"): a JSON number has already been through a float.
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "12.50"')
    return value


Money = Annotated[Decimal, BeforeValidator(_decimal_string), Field(ge=0, decimal_places=2)]


class _Model(BaseModel):
    # Unknown keys are ignored (the producer may add some); a known key missing is an error, even
    # one whose value may be null, so a renamed field never silently projects as null.
    model_config = ConfigDict(extra="ignore", frozen=True)


class EntityHeader(_Model):
    entity_id: Text = Field(alias="entityId")
    entity_type: Literal["Car"] = Field(alias="entityType")  # the projection is of cars only
    created_at: AwareDatetime = Field(alias="createdAt")
    updated_at: AwareDatetime = Field(alias="updatedAt")


class CarState(_Model):
    entity_header: EntityHeader = Field(alias="entityHeader")
    id: Text
    vin: Text
    make: Text
    model: Text
    year: StrictInt
    color: Text | None
    mileage: StrictInt = Field(ge=0)
    last_service_date: AwareDatetime | None = Field(alias="lastServiceDate")
    total_balance: Money = Field(alias="totalBalance")
    last_loan_payment_date: AwareDatetime | None = Field(alias="lastLoanPaymentDate")
    owner: Text | None

    @model_validator(mode="after")
    def _id_is_the_entity_id(self) -> CarState:
        if self.id != self.entity_header.entity_id:
            raise ValueError("id must equal entityHeader.entityId")
        return self


class CarEventMessage(_Model):
    event_id: UUID = Field(alias="eventId")
    event_type: Text = Field(alias="eventType")
    event_name: Text = Field(alias="eventName")
    created_date: AwareDatetime = Field(alias="createdDate")
    saved_date: AwareDatetime = Field(alias="savedDate")
    entity: CarState
