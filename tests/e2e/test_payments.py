"""Multi-account payments through the deployed stack: direct invokes and HTTP, each partner's
payments in its own account's DynamoDB table, and no STS call on warm invocations."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest
import requests

import labtools
from tests_support import poll

PAYMENT_ID = re.compile(r"^pay_[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def function(outputs: dict[str, Any]) -> str:
    return str(outputs["functions"]["payments"])


@pytest.fixture(scope="module")
def partners(outputs: dict[str, Any]) -> dict[str, Any]:
    return dict(outputs["partners"])


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    response = labtools.aws_client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    assert "FunctionError" not in response, response
    body: dict[str, Any] = json.loads(response["Payload"].read())
    return body


def request(partner: str, action: str, **data: Any) -> dict[str, Any]:
    return {"partnerId": partner, "action": action, "data": data}


NO_SUCH_PAYMENT = "pay_" + "f" * 32


def stored(partner: dict[str, Any], payment_id: str) -> dict[str, Any] | None:
    """The item as the partner's own account sees it in its payments table."""
    table = labtools.aws_client("dynamodb", partner["account_id"], partner["region"])
    item: dict[str, Any] | None = table.get_item(
        TableName=partner["table_name"], Key={"id": {"S": payment_id}}, ConsistentRead=True
    ).get("Item")
    return item


def test_create_and_get_by_invoke_live_in_the_partners_own_account(
    function: str, partners: dict[str, Any]
) -> None:
    created = invoke(
        function,
        {"partnerId": "partner1", "action": "createPayment", "data": {"amount": 100.50, "currency": "USD"}},
    )
    assert created["success"] is True, created
    payment = created["data"]
    assert PAYMENT_ID.match(payment["id"])
    assert (payment["partnerId"], payment["amount"], payment["currency"], payment["status"]) == (
        "partner1",
        10050,
        "USD",
        "pending",
    )

    read = invoke(
        function, {"partnerId": "partner1", "action": "getPayment", "data": {"paymentId": payment["id"]}}
    )
    assert read == {"success": True, "data": payment}

    item = stored(partners["partner1"], payment["id"])
    assert item is not None and item["amount"] == {"N": "10050"}
    assert stored(partners["partner2"], payment["id"]) is None, "partner2's account has no such item"

    other = invoke(
        function, {"partnerId": "partner2", "action": "getPayment", "data": {"paymentId": payment["id"]}}
    )
    assert other["success"] is False
    assert other["error"]["code"] == "payment_not_found"


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (
            {"partnerId": "partner9", "action": "getPayment", "data": {"paymentId": "pay_" + "0" * 32}},
            "unknown_partner",
        ),
        ({"partnerId": "partner1", "action": "refundPayment", "data": {}}, "unknown_action"),
        (
            {
                "partnerId": "partner1",
                "action": "createPayment",
                "data": {"amount": "1.234", "currency": "USD"},
            },
            "validation_error",
        ),
        (
            {"partnerId": "partner1", "action": "createPayment", "data": {"amount": 5, "currency": "XXY"}},
            "validation_error",
        ),
        (
            {"partnerId": "partner1", "action": "getPayment", "data": {"paymentId": "pay_" + "f" * 32}},
            "payment_not_found",
        ),
    ],
    ids=["unknown-partner", "unknown-action", "too-many-places", "unknown-currency", "not-found"],
)
def test_every_failure_is_an_envelope_with_its_code(function: str, event: dict[str, Any], code: str) -> None:
    answer = invoke(function, event)
    assert answer["success"] is False
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]


def test_http_create_get_replay_and_conflict(outputs: dict[str, Any], partners: dict[str, Any]) -> None:
    base = f"{outputs['payments_url']}/partner2/payments"
    key = f"e2e-{uuid.uuid4().hex[:12]}"
    body = {"amount": 1500, "currency": "JPY", "idempotencyKey": key}

    created = requests.post(base, json=body, timeout=10)
    assert created.status_code == 201, created.text
    payment = created.json()["data"]
    assert (payment["amount"], payment["currency"], payment["partnerId"]) == (1500, "JPY", "partner2")
    assert created.headers["X-Correlation-Id"]

    read = requests.get(f"{base}/{payment['id']}", timeout=10)
    assert (read.status_code, read.json()) == (200, {"success": True, "data": payment})

    replay = requests.post(base, json=body, timeout=10)
    assert (replay.status_code, replay.json()["data"]["id"]) == (200, payment["id"])

    conflict = requests.post(base, json={**body, "amount": 1600}, timeout=10)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert stored(partners["partner2"], payment["id"]) is not None
    assert stored(partners["partner1"], payment["id"]) is None


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "partner9/payments/pay_" + "0" * 32, None, 404, "unknown_partner"),
        ("GET", "partner1/payments/pay_" + "e" * 32, None, 404, "payment_not_found"),
        ("POST", "partner1/payments", {"amount": "10.001", "currency": "USD"}, 400, "validation_error"),
        ("POST", "partner1/payments", {"amount": -1, "currency": "USD"}, 400, "validation_error"),
    ],
    ids=["unknown-partner", "not-found", "too-many-places", "negative"],
)
def test_http_errors_have_their_status_and_code(
    outputs: dict[str, Any], method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = requests.request(method, f"{outputs['payments_url']}/{path}", json=body, timeout=10)
    assert response.status_code == status, response.text
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == code


def assumed_roles(function: str, after_request: str) -> Counter[str]:
    """AssumeRole calls the function logged, once its log holds the invocation `after_request`."""

    def logged() -> list[str] | None:
        lines = labtools.function_logs(function, 100_000)
        return lines if any(f"END RequestId: {after_request}" in line for line in lines) else None

    lines = poll(logged, timeout=30, what=f"the log of invocation {after_request}")
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return Counter(r["partner_id"] for r in records if r.get("message") == "assumed partner role")


def test_warm_invocations_call_sts_no_more(function: str) -> None:
    client = labtools.aws_client("lambda")

    def create(partner: str) -> str:
        event = {
            "partnerId": partner,
            "action": "createPayment",
            "data": {"amount": "1.00", "currency": "EUR"},
        }
        response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        assert json.loads(response["Payload"].read())["success"] is True
        return str(response["ResponseMetadata"]["RequestId"])

    warmed = [create(partner) for partner in ("partner1", "partner2")]  # each partner's role assumed by now
    before = assumed_roles(function, warmed[-1])
    assert set(before) == {"partner1", "partner2"}
    last = [create(("partner1", "partner2")[i % 2]) for i in range(20)][-1]
    assert assumed_roles(function, last) == before, "warm invocations assumed a role again"
