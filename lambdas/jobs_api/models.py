"""Request and response shapes of the jobs API, validated with pydantic."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from labcore.currencies import ISO_4217

MAX_AMOUNT = Decimal("1000000000")  # one billion: above it a request is a mistake, not a conversion
AMOUNT_PLACES = 4
_AMOUNT_TEXT = re.compile(r"[0-9]{1,16}(\.[0-9]{1,16})?")


def _parse_amount(value: Any) -> Decimal:
    """JSON number (already a Decimal or int: the body is parsed with parse_float=Decimal) or string."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValueError("must be a number or a string holding a decimal number")
    if isinstance(value, str):
        if not _AMOUNT_TEXT.fullmatch(value):
            raise ValueError('must be a plain decimal number such as "12.50"')
        value = Decimal(value)
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError("is not a decimal number") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    return amount


def _check_amount(amount: Decimal) -> Decimal:
    """The amount at the scale the client wrote it ("12.5" stays 12.5, "12.50" stays 12.50).

    Trailing zeros past AMOUNT_PLACES carry no precision and are dropped down to that scale.
    """
    if amount <= 0:
        raise ValueError("must be greater than 0")
    if amount > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT}")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked when parsed
    if -exponent <= AMOUNT_PLACES:
        return amount
    normal = amount.normalize()
    normal_exponent = normal.as_tuple().exponent
    assert isinstance(normal_exponent, int)
    if -normal_exponent > AMOUNT_PLACES:
        raise ValueError(f"must have at most {AMOUNT_PLACES} decimal places")
    return amount.quantize(Decimal(1).scaleb(-AMOUNT_PLACES))


def _check_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError(f"unknown currency {code!r} (ISO 4217 code expected)")
    return code


Amount = Annotated[Decimal, BeforeValidator(_parse_amount), AfterValidator(_check_amount)]
CurrencyCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$"), AfterValidator(_check_currency)
]
ClientId = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")
]
# Printable text only: Postgres text cannot hold NUL, and control characters make poor keys.
IdempotencyKey = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class CreateJobRequest(BaseModel):
    """Body of POST /jobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: ClientId
    source_currency: CurrencyCode
    target_currency: CurrencyCode
    source_amount: Amount
    idempotency_key: IdempotencyKey | None = None

    @field_validator("target_currency")
    @classmethod
    def _different_currencies(cls, target: str, info: ValidationInfo) -> str:
        if target == info.data.get("source_currency"):
            raise ValueError("must differ from source_currency")
        return target

    def fingerprint(self) -> str:
        """Hash of what the client asked for: the same idempotency key must come with the same request."""
        canonical = {
            "client_id": self.client_id,
            "source_currency": self.source_currency,
            "target_currency": self.target_currency,
            # The value, not its spelling: 12.5 and 12.50 are the same request. At AMOUNT_PLACES, as
            # before amounts kept their scale, so the request_hash of older jobs still matches.
            "source_amount": format(self.source_amount.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)), "f"),
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


JobStatus = Literal["queued", "completed", "failed"]


class Job(BaseModel):
    """A conversion job as the API shows it: amounts and rate as strings, never floats.

    The source amount has the scale the client gave it; the target amount the target currency's
    minor units ("15218" yen, "127.83" dollars), as the worker rounded it.
    """

    model_config = ConfigDict(frozen=True)

    job_id: UUID
    client_id: str
    source_currency: str
    target_currency: str
    source_amount: Decimal
    target_amount: Decimal | None
    rate: Decimal | None
    status: JobStatus
    failure_reason: str | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls.model_validate({key: row[key] for key in cls.model_fields})

    def to_json(self) -> dict[str, Any]:
        body = self.model_dump(mode="json")
        for key in ("source_amount", "target_amount", "rate"):
            value = getattr(self, key)
            body[key] = None if value is None else format(value, "f")
        return body
