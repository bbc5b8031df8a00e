"""Payments when DynamoDB fails: each failure is a domain error that keeps the client's error as its cause."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from labcore.errors import Conflict, Unavailable
from payments import service
from payments.models import CreatePayment

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)


def request(key: str | None) -> CreatePayment:
    return CreatePayment.model_validate({"amount": "100.50", "currency": "USD", "idempotencyKey": key})


class Failing:
    """A DynamoDB client whose every call raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(**kwargs: Any) -> Any:
            raise self.error

        return fail


def client_error(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "m"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, "Op")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "key", "raised", "message"),
    [
        (
            client_error("TransactionCanceledException", ["None", "TransactionConflict"]),
            "k",
            Conflict,
            "concurrent",
        ),
        (
            client_error("TransactionCanceledException", ["ValidationError", "None"]),
            "k",
            Unavailable,
            "partner1",
        ),
        (client_error("ProvisionedThroughputExceededException"), None, Unavailable, "cannot be reached"),
        (client_error("ResourceNotFoundException"), "k", Unavailable, "cannot be reached"),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), None, Unavailable, "cannot be reached"),
    ],
)
def test_other_dynamodb_failures_are_translated_with_their_cause(
    error: Exception, key: str | None, raised: type[Exception], message: str
) -> None:
    table = service.PaymentTable("partner1", Failing(error), "payments")
    with pytest.raises(raised, match=message) as caught:
        service.create_payment(table, request(key), NOW)
    assert caught.value.__cause__ is error


def test_a_failed_read_is_unavailable() -> None:
    error = EndpointConnectionError(endpoint_url="https://dynamodb")
    with pytest.raises(Unavailable) as caught:
        service.get_payment(service.PaymentTable("partner1", Failing(error), "payments"), "pay_" + "0" * 32)
    assert caught.value.__cause__ is error
