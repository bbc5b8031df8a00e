"""The jobs API's HTTP contract in-process: idempotent replays per field, Content-Type parameters."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from jobs_api import handler as jobs_handler
from tests_support import api_event, lambda_context

pytestmark = pytest.mark.usefixtures("app_environment")


def post(body: dict[str, Any], content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    response = jobs_handler.handler(
        api_event("POST", "/jobs", body, {"Content-Type": content_type}), lambda_context("jobs-api")
    )
    return response["statusCode"], json.loads(response["body"])


def request_body(**overrides: Any) -> dict[str, Any]:
    return {
        "client_id": f"contract-{uuid.uuid4().hex[:8]}",
        "source_currency": "USD",
        "target_currency": "EUR",
        "source_amount": "40.00",
        "idempotency_key": f"key-{uuid.uuid4().hex[:8]}",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "other"),
    [("source_currency", "GBP"), ("target_currency", "JPY"), ("source_amount", "40.01")],
)
def test_a_replayed_key_with_any_field_changed_is_409(field: str, other: str) -> None:
    first = request_body()
    status, created = post(first)
    assert status == 201, created
    status, replay = post(first)
    assert (status, replay["job_id"]) == (200, created["job_id"]), "the same request is a replay"
    status, conflict = post({**first, field: other})
    assert (status, conflict["error"]) == (409, "conflict"), conflict


def test_the_same_key_from_another_client_is_another_job() -> None:
    first = request_body()
    status, created = post(first)
    assert status == 201, created
    status, other = post({**first, "client_id": f"{first['client_id']}-b"})
    assert status == 201, other
    assert other["job_id"] != created["job_id"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"],
)
def test_json_content_type_with_parameters_or_any_case_is_accepted(content_type: str) -> None:
    status, job = post(request_body(), content_type)
    assert (status, job["status"]) == (201, "queued"), job


@pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "application/jsonx", ""])
def test_other_content_types_are_415(content_type: str) -> None:
    status, error = post(request_body(), content_type)
    assert (status, error["error"]) == (415, "unsupported_media_type"), error
