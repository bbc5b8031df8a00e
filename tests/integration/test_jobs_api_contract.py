"""The jobs API's HTTP contract in-process: idempotent replays per field, Content-Type parameters."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from jobs_api import handler as jobs_handler
from labcore import http
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
    assert (status, conflict) == (
        409,
        {"error": "conflict", "message": "idempotency_key was already used with a different request"},
    )


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


def test_the_outbox_event_carries_the_job_and_the_request_tracing(
    monkeypatch: pytest.MonkeyPatch, admin_db: psycopg.Connection[DictRow]
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc")
    body = request_body(source_amount="0.5")
    event = api_event(
        "POST", "/jobs", body, {"Content-Type": "application/json", "X-Correlation-Id": "corr-9"}
    )
    response = jobs_handler.handler(event, lambda_context("jobs-api"))
    job = json.loads(response["body"])
    row = admin_db.execute(
        "SELECT aggregate_type, aggregate_id, topic, event_type, payload, headers FROM outbox"
        " WHERE aggregate_id = %s",
        (job["job_id"],),
    ).fetchone()
    assert row == {
        "aggregate_type": "conversion_job",
        "aggregate_id": job["job_id"],
        "topic": "conversion-jobs",
        "event_type": "conversion_job.created",
        "payload": {
            "job_id": job["job_id"],
            "client_id": body["client_id"],
            "source_currency": "USD",
            "target_currency": "EUR",
            "source_amount": "0.5",  # at the scale it was given
        },
        "headers": {"correlation_id": "corr-9", "trace_id": "Root=1-abc"},
    }


@pytest.mark.parametrize("given", [None, "not a valid id!"])
def test_without_a_usable_correlation_id_the_request_id_is_used(given: str | None) -> None:
    headers = {"Content-Type": "application/json"} | ({"X-Correlation-Id": given} if given else {})
    event = api_event("POST", "/jobs", request_body(), headers)
    response = jobs_handler.handler(event, lambda_context("jobs-api"))
    assert response["multiValueHeaders"]["X-Correlation-Id"] == [event["requestContext"]["requestId"]]


def test_no_content_type_is_415_naming_none() -> None:
    event = api_event("POST", "/jobs", request_body(), {})
    response = jobs_handler.handler(event, lambda_context("jobs-api"))
    assert (response["statusCode"], json.loads(response["body"])) == (
        415,
        {"error": "unsupported_media_type", "message": "Content-Type must be application/json, not none"},
    )


def test_a_body_of_exactly_the_limit_is_accepted_one_byte_more_is_413() -> None:
    compact = json.dumps(request_body())
    at_limit = compact + " " * (http.MAX_BODY_BYTES - len(compact.encode()))  # JSON allows the padding
    status, job = post_raw(at_limit)
    assert status == 201, job
    status, error = post_raw(json.dumps(request_body()) + " " * http.MAX_BODY_BYTES)
    assert (status, error["error"]) == (413, "payload_too_large")


def test_a_json_body_that_is_not_an_object_is_400_naming_the_body() -> None:
    status, error = post_raw("[1, 2]")
    assert (status, error) == (
        400,
        {
            "error": "validation_error",
            "message": "request body must be a JSON object",
            "details": [{"field": "body", "message": "expected an object"}],
        },
    )


def test_field_problems_name_the_field_without_pydantics_prefix() -> None:
    status, error = post({**request_body(), "source_amount": "0"})
    assert (status, error["message"]) == (400, "request body is invalid")
    assert error["details"] == [{"field": "source_amount", "message": "must be greater than 0"}]


def post_raw(body: str) -> tuple[int, dict[str, Any]]:
    event = api_event("POST", "/jobs", body, {"Content-Type": "application/json"})
    response = jobs_handler.handler(event, lambda_context("jobs-api"))
    return response["statusCode"], json.loads(response["body"])


def test_every_answer_is_json_with_its_content_type() -> None:
    for body, content_type, status in [
        (json.dumps(request_body()), "application/json", 201),
        ("{not json", "application/json", 400),
        ("x", "text/plain", 415),
    ]:
        event = api_event("POST", "/jobs", body, {"Content-Type": content_type})
        response = jobs_handler.handler(event, lambda_context("jobs-api"))
        assert response["statusCode"] == status
        headers = {k.lower(): v for k, v in response["multiValueHeaders"].items()}
        assert headers["content-type"] == ["application/json"], status
        json.loads(response["body"])


def test_a_body_that_is_not_json_is_400_saying_so() -> None:
    status, error = post_raw("{not json")
    assert (status, error["error"], error["message"]) == (
        400,
        "validation_error",
        "request body is not valid JSON",
    )
    assert [d["field"] for d in error["details"]] == ["body"]
