"""The jobs API over real HTTP through API Gateway's _user_request_ URL, into real Postgres."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urljoin

import psycopg
import pytest
import requests
from psycopg.rows import DictRow

JSON = {"Content-Type": "application/json"}


def new_job(**overrides: Any) -> dict[str, Any]:
    return {
        "client_id": f"e2e-{uuid.uuid4().hex[:8]}",
        "source_currency": "EUR",
        "target_currency": "USD",
        "source_amount": "19.99",
        **overrides,
    }


def same_request(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same job as the client asked for it (status and results move on as the worker runs)."""
    keys = ("job_id", "client_id", "source_currency", "target_currency", "source_amount", "idempotency_key")
    return all(a[key] == b[key] for key in keys)


@pytest.fixture(scope="module")
def jobs_url(outputs: dict[str, Any]) -> str:
    return str(outputs["jobs_url"])


def test_create_then_read_back(jobs_url: str, outputs: dict[str, Any]) -> None:
    created = requests.post(jobs_url, json=new_job(), timeout=10)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["status"] == "queued"
    assert (job["source_amount"], job["target_amount"], job["rate"]) == ("19.99", None, None)
    # Relative Location: resolved against the request URL it names this job under any URL form.
    assert urljoin(jobs_url, created.headers["Location"]) == f"{jobs_url}/{job['job_id']}"

    read = requests.get(f"{jobs_url}/{job['job_id']}", timeout=10)
    assert read.status_code == 200
    # The worker may already have completed it: the request itself reads back unchanged.
    assert same_request(read.json(), job)
    assert read.json()["status"] in ("queued", "completed")
    # The other URL form reaches the same API.
    same = requests.get(f"{outputs['jobs_execute_api_url']}/{job['job_id']}", timeout=10)
    assert same_request(same.json(), job)


def test_replay_returns_the_original_and_conflict_is_409(
    jobs_url: str, admin_db: psycopg.Connection[DictRow]
) -> None:
    body = new_job(idempotency_key=f"key-{uuid.uuid4()}")
    first = requests.post(jobs_url, json=body, timeout=10)
    replay = requests.post(jobs_url, json=body, timeout=10)
    conflict = requests.post(jobs_url, json={**body, "source_amount": "20.00"}, timeout=10)
    assert (first.status_code, replay.status_code, conflict.status_code) == (201, 200, 409)
    assert same_request(replay.json(), first.json())
    assert conflict.json()["error"] == "conflict"
    counts = admin_db.execute(
        "SELECT (SELECT count(*) FROM conversion_jobs WHERE client_id = %(c)s) AS jobs,"
        " (SELECT count(*) FROM outbox WHERE payload->>'client_id' = %(c)s) AS events",
        {"c": body["client_id"]},
    ).fetchone()
    assert counts == {"jobs": 1, "events": 1}


def test_correlation_id_round_trips_into_the_outbox(
    jobs_url: str, admin_db: psycopg.Connection[DictRow]
) -> None:
    correlation_id = f"e2e-{uuid.uuid4()}"
    response = requests.post(
        jobs_url, json=new_job(), headers={"X-Correlation-Id": correlation_id}, timeout=10
    )
    assert response.headers["X-Correlation-Id"] == correlation_id
    row = admin_db.execute(
        "SELECT headers FROM outbox WHERE aggregate_id = %s", (response.json()["job_id"],)
    ).fetchone()
    assert row is not None
    assert row["headers"]["correlation_id"] == correlation_id
    generated = requests.get(f"{jobs_url}/{uuid.uuid4()}", timeout=10)
    assert generated.headers["X-Correlation-Id"], "a request without one gets one"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    [
        ("GET", "/jobs/{missing}", {}, 404, "not_found"),
        ("GET", "/jobs/not-a-uuid", {}, 400, "validation_error"),
        ("DELETE", "/jobs", {}, 405, "method_not_allowed"),
        ("GET", "/no/such/route", {}, 404, "not_found"),
        ("POST", "/ping", {}, 405, "method_not_allowed"),
        ("POST", "/jobs", {"data": "{broken", "headers": JSON}, 400, "validation_error"),
        ("POST", "/jobs", {"json": new_job(source_amount=0)}, 400, "validation_error"),
        (
            "POST",
            "/jobs",
            {"data": "client_id=x", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ("POST", "/jobs", {"json": new_job(client_id="x" * 20_000)}, 413, "payload_too_large"),
        (
            "POST",
            "/jobs",
            {"data": b"\xff\xfe" + json.dumps(new_job()).encode(), "headers": JSON},
            400,
            "validation_error",
        ),
    ],
)
def test_error_responses_are_json(
    outputs: dict[str, Any], method: str, path: str, kwargs: dict[str, Any], status: int, error: str
) -> None:
    base = outputs["api_base_url"]
    url = base + path.format(missing=uuid.uuid4())
    response = requests.request(method, url, timeout=10, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error
    assert isinstance(response.json()["message"], str), "every error has the one shape"


def test_each_function_answers_405_for_its_own_routes(outputs: dict[str, Any]) -> None:
    ping = requests.post(outputs["ping_url"], timeout=10)
    jobs = requests.delete(f"{outputs['jobs_url']}/{uuid.uuid4()}", timeout=10)
    assert (ping.status_code, ping.headers["Allow"]) == (405, "GET")
    assert (jobs.status_code, jobs.headers["Allow"]) == (405, "GET")


def test_a_charset_parameter_is_accepted(jobs_url: str) -> None:
    response = requests.post(
        jobs_url,
        data=json.dumps(new_job(source_amount="12.50")),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["source_amount"] == "12.50", "the amount keeps the scale it was given"
