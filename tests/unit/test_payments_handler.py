"""The payments handler on both event shapes (moto in-process): the envelope, each error code, statuses."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from payments import service
from payments.partners import PartnerAccess
from payments_support import PARTNER_JSON, moto_partners

# The handler validates its settings at import, as on a cold start: given them for the import only.
with pytest.MonkeyPatch.context() as _import_env:
    _import_env.setenv("PARTNERS", json.dumps(PARTNER_JSON))
    _import_env.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    from payments import handler


class FakeContext:
    function_name = "payments"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:payments"
    aws_request_id = "invoke-req-1"


@pytest.fixture(autouse=True)
def partners(monkeypatch: pytest.MonkeyPatch) -> Iterator[PartnerAccess]:
    """The handler's partner access against moto: each partner's table in its own account."""
    with moto_partners(monkeypatch) as access:
        monkeypatch.setattr(handler, "access", access)
        yield access


def invoke(event: Any) -> dict[str, Any]:
    result: dict[str, Any] = handler.handler(event, FakeContext())  # type: ignore[arg-type]
    return result


def create(partner_id: str = "partner1", **data: Any) -> dict[str, Any]:
    return invoke(
        {
            "partnerId": partner_id,
            "action": "createPayment",
            "data": {"amount": 100.50, "currency": "USD", **data},
        }
    )


def get(payment_id: str, partner_id: str = "partner1") -> dict[str, Any]:
    return invoke({"partnerId": partner_id, "action": "getPayment", "data": {"paymentId": payment_id}})


def rest_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "resource": "/partners/{partnerId}/payments",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"} if headers is None else headers,
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"requestId": "rest-req", "stage": "lab", "path": f"/lab{path}"},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def call(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    response = invoke(rest_event(method, path, body, headers))
    assert response["multiValueHeaders"]["X-Correlation-Id"] == ["rest-req"]
    return response["statusCode"], json.loads(response["body"])


def failure(envelope: dict[str, Any]) -> tuple[str, str]:
    assert envelope["success"] is False, envelope
    assert set(envelope) == {"success", "error"}
    return envelope["error"]["code"], envelope["error"]["message"]


MISSING = "pay_" + "0" * 32
P1, P3 = "/partners/partner1/payments", "/partners/partner3/payments"


# --- direct invoke --------------------------------------------------------------------------------------
def test_invoke_create_then_get_returns_the_payment_in_minor_units() -> None:
    created = create()
    assert created["success"] is True
    payment = created["data"]
    assert {key: payment[key] for key in ("partnerId", "amount", "currency", "status")} == {
        "partnerId": "partner1",
        "amount": 10050,
        "currency": "USD",
        "status": "pending",
    }
    assert payment["createdAt"] == payment["updatedAt"] and payment["createdAt"].endswith("Z")
    assert "idempotencyKey" not in payment
    assert get(payment["id"]) == {"success": True, "data": payment}


@pytest.mark.parametrize(
    ("amount", "currency", "units"), [(100, "JPY", 100), ("1.234", "BHD", 1234), (0.1, "EUR", 10)]
)
def test_invoke_amounts_take_the_currencys_exponent(amount: object, currency: str, units: int) -> None:
    assert create(amount=amount, currency=currency)["data"]["amount"] == units


def test_invoke_with_an_idempotency_key_replays_and_conflicts() -> None:
    first = create(idempotencyKey="order-1")["data"]
    assert first["idempotencyKey"] == "order-1"
    assert create(amount="100.50", idempotencyKey="order-1") == {"success": True, "data": first}
    code, message = failure(create(amount=100.51, idempotencyKey="order-1"))
    assert (code, message) == (
        "conflict",
        "idempotency key 'order-1' was already used for a different payment",
    )


def envelope(partner_id: str, action: str, data: Any) -> dict[str, Any]:
    return {"partnerId": partner_id, "action": action, "data": data}


@pytest.mark.parametrize(
    ("event", "code", "text"),
    [
        (envelope("partner3", "createPayment", {}), "unknown_partner", "partner3"),
        (envelope("partner1", "refund", {}), "unknown_action", "'refund'"),
        (envelope("partner3", "refund", {}), "unknown_action", "createPayment, getPayment"),
        (envelope("partner1", "getPayment", {"paymentId": MISSING}), "payment_not_found", MISSING),
        (envelope("partner1", "getPayment", {"paymentId": "idem#k"}), "validation_error", "getPayment"),
        (envelope("partner1", "createPayment", {"amount": 1.001, "currency": "USD"}), "validation_error", ""),
        ({"partnerId": "partner1", "action": "createPayment"}, "validation_error", "invocation"),
        (["not", "an", "object"], "validation_error", "invocation"),
    ],
)
def test_invoke_errors_are_the_envelope_not_exceptions(event: Any, code: str, text: str) -> None:
    assert failure(invoke(event))[0] == code
    assert text in failure(invoke(event))[1]


def test_invoke_validation_errors_name_each_field() -> None:
    result = create(amount="1.001", currency="USD", idempotencyKey="")
    assert (result["error"]["code"], result["error"]["message"]) == (
        "validation_error",
        "createPayment data is invalid",
    )
    fields = {detail["field"]: detail["message"] for detail in result["error"]["details"]}
    assert set(fields) == {"amount", "idempotencyKey"}
    assert "at most 2 decimal places for USD" in fields["amount"]


def test_invoke_an_event_that_is_not_the_envelope_names_its_fields() -> None:
    result = invoke({"partnerId": "partner1", "data": {}, "extra": 1})
    assert result["error"]["message"] == 'the invocation {"partnerId", "action", "data"} is invalid'
    assert {detail["field"] for detail in result["error"]["details"]} == {"action", "extra"}


def test_invoke_an_unreachable_table_is_unavailable_with_the_cause_in_the_log(
    partners: PartnerAccess, caplog: pytest.LogCaptureFixture
) -> None:
    partners.table("partner2").client.delete_table(TableName="payments")
    assert failure(create("partner2"))[0] == "unavailable"
    logged = [getattr(r, "error", "") for r in caplog.records if r.getMessage() == "dependency unavailable"]
    assert len(logged) == 1 and "ResourceNotFoundException" in logged[0]


def test_invoke_a_bug_is_raised_so_lambda_reports_a_function_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(service, "create_payment", broken)
    with pytest.raises(RuntimeError, match="bug"):
        create()


def test_invoke_partners_are_isolated() -> None:
    payment = create("partner1")["data"]
    assert failure(get(payment["id"], "partner2"))[0] == "payment_not_found"
    assert get(payment["id"], "partner1")["success"] is True


# --- API Gateway REST -----------------------------------------------------------------------------------
def test_http_post_is_201_then_get_is_200_with_the_same_envelope() -> None:
    status, created = call("POST", P1, '{"amount": 100.50, "currency": "USD"}')
    assert status == 201 and created["success"] is True
    assert created["data"]["amount"] == 10050
    status, read = call("GET", f"{P1}/{created['data']['id']}")
    assert (status, read) == (200, created)
    assert get(created["data"]["id"]) == created, "one payment, whichever shape reads it"


def test_http_replay_is_200_and_a_changed_body_is_409() -> None:
    body = {"amount": "12.30", "currency": "EUR", "idempotencyKey": "k1"}
    status, first = call("POST", P1, body)
    assert status == 201
    assert call("POST", P1, '{"amount": 12.3, "currency": "EUR", "idempotencyKey": "k1"}') == (200, first)
    status, conflict = call("POST", P1, {**body, "amount": "12.31"})
    assert (status, failure(conflict)[0]) == (409, "conflict")


TEXT = {"Content-Type": "text/plain"}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("POST", P3, {"amount": 1, "currency": "USD"}, None, 404, "unknown_partner"),
        ("POST", P3, {"amount": 0}, None, 404, "unknown_partner"),
        ("GET", f"{P3}/{MISSING}", None, None, 404, "unknown_partner"),
        ("GET", f"{P1}/{MISSING}", None, None, 404, "payment_not_found"),
        ("GET", f"{P1}/pay_x", None, None, 400, "validation_error"),
        ("POST", P1, {"amount": "1.5", "currency": "JPY"}, None, 400, "validation_error"),
        ("POST", P1, "[1]", None, 400, "validation_error"),
        ("POST", P1, "{", None, 400, "validation_error"),
        ("POST", P1, {"amount": 1}, TEXT, 415, "unsupported_media_type"),
        ("POST", P1, "x" * 20_000, None, 413, "payload_too_large"),
        ("GET", P1, None, None, 405, "method_not_allowed"),
        ("GET", "/partners/partner1", None, None, 404, "not_found"),
    ],
)
def test_http_errors_are_the_envelope_with_their_status(
    method: str, path: str, body: Any, headers: dict[str, str] | None, status: int, code: str
) -> None:
    got_status, envelope = call(method, path, body, headers)
    assert (got_status, failure(envelope)[0]) == (status, code)


def test_http_validation_details_are_in_the_envelope() -> None:
    status, envelope = call("POST", P1, {"amount": "-1", "currency": "XXX"})
    assert status == 400
    assert {detail["field"] for detail in envelope["error"]["details"]} == {"amount", "currency"}


def test_http_a_bug_is_500_internal_without_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "create_payment", broken)
    status, envelope = call("POST", P1, {"amount": 1, "currency": "USD"})
    assert (status, failure(envelope)) == (500, ("internal", "internal error"))


def test_warm_invocations_assume_each_partner_role_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    caplog.clear()  # the fixture's table setup assumed both roles once already
    for _ in range(5):
        create("partner1")
        call("GET", f"/partners/partner2/payments/{MISSING}")
    assert [r for r in caplog.records if r.getMessage() == "assumed partner role"] == []
