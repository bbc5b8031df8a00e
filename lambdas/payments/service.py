"""Rules of the payments function: create a payment once, idempotently by key, and read it back.

Each partner's payments live in its own account's table, reached with a low-level DynamoDB client.
Every write is conditional on the id being new, so nothing here can ever overwrite a payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from labcore.errors import Conflict, Unavailable
from payments.models import PAYMENT_ID_PREFIX, CreatePayment, Payment, PaymentNotFound

IDEMPOTENCY_PREFIX = "idem#"  # an idempotency item's id; never a PAYMENT_ID_PREFIX id
MAX_ID_ATTEMPTS = 3  # a fresh uuid4 colliding even once is already a 2^-122 event
_IS_NEW = "attribute_not_exists(id)"

logger = Logger(child=True)


@dataclass(frozen=True)
class PaymentTable:
    """A partner's payments table and a DynamoDB client holding the partner's assumed-role credentials."""

    partner_id: str
    client: Any
    table_name: str


@dataclass(frozen=True)
class Created:
    """The outcome of createPayment: `replayed` when the idempotency key returned an earlier payment."""

    payment: Payment
    replayed: bool


class _IdTaken(Exception):
    """The new payment's id is already stored."""


class _KeyTaken(Exception):
    """The idempotency key is already stored."""


def new_payment_id() -> str:
    return f"{PAYMENT_ID_PREFIX}{uuid.uuid4().hex}"


def timestamp(now: datetime) -> str:
    """UTC with milliseconds and a Z."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_payment(
    table: PaymentTable,
    request: CreatePayment,
    now: datetime,
    new_id: Callable[[], str] = new_payment_id,
) -> Created:
    """Store a pending payment; with an idempotency key, the key's payment if it was used before.

    A key used before with the same request (same minor units and currency) returns that payment
    and writes nothing; with another request it is a Conflict.
    """
    created_at = timestamp(now)
    for _ in range(MAX_ID_ATTEMPTS):
        payment = Payment(
            id=new_id(),
            partner_id=table.partner_id,
            amount=request.minor_units,
            currency=request.currency,
            status="pending",
            created_at=created_at,
            updated_at=created_at,
            idempotency_key=request.idempotency_key,
        )
        try:
            if request.idempotency_key is None:
                _put(table, payment)
            else:
                _put_with_key(table, payment, request.fingerprint(table.partner_id), created_at)
        except _KeyTaken:
            return _replay(table, request)
        except _IdTaken:
            logger.warning("payment id taken, drawing another", extra={"payment_id": payment.id})
            continue
        return Created(payment, replayed=False)
    raise Conflict(f"no free payment id in {MAX_ID_ATTEMPTS} attempts; retry")


def get_payment(table: PaymentTable, payment_id: str) -> Payment:
    """The partner's payment; an idempotency item, or another partner's payment, is not one."""
    item = _get(table, payment_id) if payment_id.startswith(PAYMENT_ID_PREFIX) else None
    if item is None or item["partnerId"]["S"] != table.partner_id:
        raise PaymentNotFound(f"payment {payment_id} not found")
    return _payment(item)


def _put(table: PaymentTable, payment: Payment) -> None:
    try:
        table.client.put_item(TableName=table.table_name, Item=_item(payment), ConditionExpression=_IS_NEW)
    except ClientError as exc:
        if _error_code(exc) == "ConditionalCheckFailedException":
            raise _IdTaken from exc
        raise _unavailable(table) from exc
    except BotoCoreError as exc:
        raise _unavailable(table) from exc


def _put_with_key(table: PaymentTable, payment: Payment, request_hash: str, created_at: str) -> None:
    """The payment and its idempotency item in one transaction, each only if its id is new."""
    assert payment.idempotency_key is not None
    key_item = {
        "id": {"S": IDEMPOTENCY_PREFIX + payment.idempotency_key},
        "paymentId": {"S": payment.id},
        "requestHash": {"S": request_hash},
        "createdAt": {"S": created_at},
    }
    try:
        table.client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table.table_name, "Item": item, "ConditionExpression": _IS_NEW}}
                for item in (_item(payment), key_item)  # in this order: the cancellation reasons follow it
            ]
        )
    except ClientError as exc:
        if _error_code(exc) == "TransactionCanceledException":
            payment_reason, key_reason = [*_cancellation_codes(exc), None, None][:2]
            if key_reason == "ConditionalCheckFailed":
                raise _KeyTaken from exc
            if payment_reason == "ConditionalCheckFailed":
                raise _IdTaken from exc
            if "TransactionConflict" in (payment_reason, key_reason):
                raise Conflict("a concurrent request is using this idempotency key; retry") from exc
        raise _unavailable(table) from exc
    except BotoCoreError as exc:
        raise _unavailable(table) from exc


def _replay(table: PaymentTable, request: CreatePayment) -> Created:
    key = request.idempotency_key
    assert key is not None
    stored = _get(table, IDEMPOTENCY_PREFIX + key)
    if stored is None:  # written with its payment in one transaction: only a deleted key gets here
        raise Conflict(f"idempotency key {key!r} is being released; retry")
    if stored["requestHash"]["S"] != request.fingerprint(table.partner_id):
        raise Conflict(f"idempotency key {key!r} was already used for a different payment")
    return Created(get_payment(table, stored["paymentId"]["S"]), replayed=True)


def _get(table: PaymentTable, item_id: str) -> dict[str, Any] | None:
    try:
        response = table.client.get_item(
            TableName=table.table_name, Key={"id": {"S": item_id}}, ConsistentRead=True
        )
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(table) from exc
    item: dict[str, Any] | None = response.get("Item")
    return item


def _item(payment: Payment) -> dict[str, Any]:
    item = {
        "id": {"S": payment.id},
        "partnerId": {"S": payment.partner_id},
        "amount": {"N": str(payment.amount)},
        "currency": {"S": payment.currency},
        "status": {"S": payment.status},
        "createdAt": {"S": payment.created_at},
        "updatedAt": {"S": payment.updated_at},
    }
    if payment.idempotency_key is not None:
        item["idempotencyKey"] = {"S": payment.idempotency_key}
    return item


def _payment(item: dict[str, Any]) -> Payment:
    key = item.get("idempotencyKey")
    return Payment(
        id=item["id"]["S"],
        partner_id=item["partnerId"]["S"],
        amount=int(item["amount"]["N"]),
        currency=item["currency"]["S"],
        status=item["status"]["S"],
        created_at=item["createdAt"]["S"],
        updated_at=item["updatedAt"]["S"],
        idempotency_key=None if key is None else key["S"],
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _cancellation_codes(exc: ClientError) -> list[str | None]:
    reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons") or []  # type: ignore[assignment]
    return [reason.get("Code") for reason in reasons]


def _unavailable(table: PaymentTable) -> Unavailable:
    """Raised `from` the client's error: the cause goes to the log, never to the response."""
    return Unavailable(f"the payments of partner {table.partner_id} cannot be reached; retry")
