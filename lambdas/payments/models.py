"""The payments function's requests and its payment (pydantic v2); amounts in minor units, never floats."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from labcore.currencies import ISO_4217, to_minor_units
from labcore.errors import InvalidInput, NotFound

MAX_AMOUNT = Decimal(1_000_000_000)  # in the currency's major unit: a billion or more is a mistake
PAYMENT_ID_PREFIX = "pay_"
_AMOUNT_TEXT = re.compile(r"[0-9]{1,16}(\.[0-9]{1,16})?")

type Action = Literal["createPayment", "getPayment"]
ACTIONS: tuple[Action, ...] = ("createPayment", "getPayment")
type PaymentStatus = Literal["pending"]


class UnknownAction(InvalidInput):
    code = "unknown_action"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


def _amount(value: object) -> Decimal:
    """A JSON number or a decimal string, taken exactly.

    Over HTTP a JSON number arrives as a Decimal (labcore.http parses floats as Decimal). A direct
    invoke's payload is parsed by the Lambda runtime, so a number with a fraction arrives as a float;
    it is read as its shortest repr, `Decimal(repr(x))`, which is the number the client wrote
    whenever that had at most 15 significant digits (a double's DBL_DIG). Every amount accepted here
    has at most 12 (below MAX_AMOUNT, at most 3 places), so none is ever changed; a literal of 16 or
    more digits may already have been rounded by the runtime, which is why a string is also accepted.
    """
    if isinstance(value, bool):
        raise ValueError("must be a number or a string holding a decimal number")
    if isinstance(value, float):
        value = Decimal(repr(value))
    elif isinstance(value, str):
        if not _AMOUNT_TEXT.fullmatch(value):
            raise ValueError('must be a plain decimal number such as "100.50"')
        value = Decimal(value)
    if not isinstance(value, (Decimal, int)):
        raise ValueError("must be a number or a string holding a decimal number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount <= 0:
        raise ValueError("must be greater than 0")
    if amount > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT}")
    return amount


def _known_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError(f"unknown currency {code!r} (ISO 4217 code expected)")
    return code


Amount = Annotated[Decimal, BeforeValidator(_amount)]
CurrencyCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)
]
# Printable text only: control characters make poor keys.
IdempotencyKey = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]
PAYMENT_ID_PATTERN = rf"^{PAYMENT_ID_PREFIX}[0-9a-f]{{32}}$"
PaymentId = Annotated[str, StringConstraints(strict=True, pattern=PAYMENT_ID_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class CreatePayment(_Model):
    """The data of createPayment, and the body of POST /partners/{partnerId}/payments."""

    currency: CurrencyCode  # before amount: the amount's places are checked against it
    amount: Amount
    idempotency_key: IdempotencyKey | None = Field(default=None, alias="idempotencyKey")

    @field_validator("amount")
    @classmethod
    def _fits_the_currency(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")  # absent when the currency was itself invalid
        if currency is not None:
            to_minor_units(amount, currency)  # raises when a digit would be lost: never rounded
        return amount

    @property
    def minor_units(self) -> int:
        return to_minor_units(self.amount, self.currency)

    def fingerprint(self, partner_id: str) -> str:
        """Hash of what was asked: 100.5 and "100.50" are one request, so one idempotency key fits both."""
        canonical = {"partnerId": partner_id, "amount": self.minor_units, "currency": self.currency}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


class GetPayment(_Model):
    """The data of getPayment (over HTTP, the path's id)."""

    payment_id: PaymentId = Field(alias="paymentId")


class Invocation(_Model):
    """A direct invoke: which partner, which action, and the action's data (validated per action)."""

    partner_id: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)] = Field(
        alias="partnerId"
    )
    action: Annotated[str, StringConstraints(strict=True)]
    data: dict[str, Any]


@dataclass(frozen=True)
class Payment:
    """A stored payment: the amount in the currency's minor units (10050 for 100.50 USD)."""

    id: str
    partner_id: str
    amount: int
    currency: str
    status: PaymentStatus
    created_at: str
    updated_at: str
    idempotency_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "partnerId": self.partner_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.idempotency_key is not None:
            body["idempotencyKey"] = self.idempotency_key
        return body


# The REST route's envelopes (documented in the OpenAPI document; the handler writes these shapes).


class PaymentView(_Model):
    id: PaymentId
    partner_id: str = Field(alias="partnerId")
    amount: int = Field(gt=0, description="in the currency's minor units")
    currency: str
    status: PaymentStatus
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")
    idempotency_key: str | None = Field(default=None, alias="idempotencyKey")


class PaymentSuccess(_Model):
    success: Literal[True]
    data: PaymentView


class PaymentProblem(_Model):
    field: str
    message: str


class PaymentErrorBody(_Model):
    code: str = Field(pattern=r"^[a-z_]+$")
    message: str
    details: list[PaymentProblem] | None = None


class PaymentFailure(_Model):
    """Every error of the payments function: labcore.http's error body under `error`."""

    success: Literal[False]
    error: PaymentErrorBody
