"""The jobs API in-process against the lab's Postgres: the service, the handler, the outbox."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from jobs_api import handler as jobs_handler
from jobs_api import service
from jobs_api.models import CreateJobRequest
from labcore import db, http
from labcore.errors import Conflict
from tests_support import api_event, app_conninfo, lambda_context

pytestmark = pytest.mark.usefixtures("app_environment")


@pytest.fixture(autouse=True)
def nudges(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The dispatcher nudges the handler sends (recorded here instead of invoking a Lambda)."""
    sent: list[str] = []
    monkeypatch.setattr(jobs_handler, "nudge", lambda: sent.append("nudge"))
    return sent


def new_request(**overrides: Any) -> CreateJobRequest:
    data = {
        "client_id": f"client-{uuid.uuid4().hex[:8]}",
        "source_currency": "USD",
        "target_currency": "EUR",
        "source_amount": "250.50",
        **overrides,
    }
    return CreateJobRequest.model_validate(data)


def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return jobs_handler.handler(api_event(method, path, body, headers), lambda_context("jobs-api"))


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(response["body"]))


def header(response: dict[str, Any], name: str) -> str | None:
    values = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    single = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    if name.lower() in values:
        return str(values[name.lower()][0])
    return single.get(name.lower())


def rows_for_client(admin_db: psycopg.Connection[DictRow], client_id: str) -> tuple[int, int]:
    jobs = admin_db.execute("SELECT count(*) AS n FROM conversion_jobs WHERE client_id = %s", (client_id,))
    events = admin_db.execute(
        "SELECT count(*) AS n FROM outbox WHERE payload->>'client_id' = %s", (client_id,)
    )
    return jobs.fetchone()["n"], events.fetchone()["n"]  # type: ignore[index]


# --- service ----------------------------------------------------------------------------------------
def test_job_and_its_outbox_row_commit_together(admin_db: psycopg.Connection[DictRow]) -> None:
    request = new_request()
    result = db.run_in_transaction(lambda conn: service.create_job(conn, request, {"correlation_id": "c-1"}))
    assert result.created
    job = admin_db.execute("SELECT * FROM conversion_jobs WHERE job_id = %s", (result.job.job_id,)).fetchone()
    assert job is not None
    assert job["status"] == "queued"
    assert format(job["source_amount"], "f") == "250.50", "stored at the scale it was given"
    event = admin_db.execute(
        "SELECT * FROM outbox WHERE aggregate_id = %s", (str(result.job.job_id),)
    ).fetchone()
    assert event is not None
    assert (event["topic"], event["event_type"]) == ("conversion-jobs", "conversion_job.created")
    assert event["payload"]["source_amount"] == "250.50"
    assert event["headers"] == {"correlation_id": "c-1"}
    assert event["published_at"] is None


def test_rollback_leaves_neither_job_nor_outbox_row(admin_db: psycopg.Connection[DictRow]) -> None:
    request = new_request()

    def create_then_fail(conn: psycopg.Connection[DictRow]) -> None:
        service.create_job(conn, request, {})
        raise RuntimeError("failure after both inserts")

    with pytest.raises(RuntimeError):
        db.run_in_transaction(create_then_fail)
    assert rows_for_client(admin_db, request.client_id) == (0, 0)


def test_replayed_key_returns_the_original_job(admin_db: psycopg.Connection[DictRow]) -> None:
    request = new_request(idempotency_key="key-1")
    first = db.run_in_transaction(lambda conn: service.create_job(conn, request, {}))
    again = db.run_in_transaction(lambda conn: service.create_job(conn, request, {}))
    assert (first.created, again.created) == (True, False)
    assert again.job == first.job
    assert rows_for_client(admin_db, request.client_id) == (1, 1)


def test_same_key_with_another_request_conflicts(admin_db: psycopg.Connection[DictRow]) -> None:
    request = new_request(idempotency_key="key-2")
    db.run_in_transaction(lambda conn: service.create_job(conn, request, {}))
    other = new_request(client_id=request.client_id, idempotency_key="key-2", source_amount="999")
    with pytest.raises(Conflict, match="different request"):
        db.run_in_transaction(lambda conn: service.create_job(conn, other, {}))
    assert rows_for_client(admin_db, request.client_id) == (1, 1)


def test_fifty_concurrent_requests_with_one_key_make_one_job(admin_db: psycopg.Connection[DictRow]) -> None:
    request = new_request(idempotency_key="race")
    barrier = threading.Barrier(50)
    results: list[service.CreateResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            with psycopg.connect(**app_conninfo(), autocommit=True, row_factory=dict_row) as conn:
                barrier.wait(timeout=30)
                with conn.transaction():
                    result = service.create_job(conn, request, {})
            with lock:
                results.append(result)
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 50
    assert sum(result.created for result in results) == 1
    assert len({result.job.job_id for result in results}) == 1
    assert rows_for_client(admin_db, request.client_id) == (1, 1)


# --- handler ----------------------------------------------------------------------------------------
def valid_body(**overrides: Any) -> dict[str, Any]:
    return {
        "client_id": f"client-{uuid.uuid4().hex[:8]}",
        "source_currency": "GBP",
        "target_currency": "JPY",
        "source_amount": 12.5,
        **overrides,
    }


def test_post_creates_a_job_with_location_and_correlation_id(admin_db: psycopg.Connection[DictRow]) -> None:
    response = call(
        "POST", "/jobs", valid_body(), {"Content-Type": "application/json", "X-Correlation-Id": "corr-42"}
    )
    assert response["statusCode"] == 201, response["body"]
    job = body_of(response)
    assert job["status"] == "queued"
    assert job["source_amount"] == "12.5"
    assert header(response, "Location") == f"jobs/{job['job_id']}"
    assert header(response, "X-Correlation-Id") == "corr-42"
    event = admin_db.execute(
        "SELECT headers FROM outbox WHERE aggregate_id = %s", (job["job_id"],)
    ).fetchone()
    assert event is not None
    assert event["headers"]["correlation_id"] == "corr-42"


def test_get_returns_the_job_and_404_for_unknown_ids() -> None:
    created = body_of(call("POST", "/jobs", valid_body()))
    found = call("GET", f"/jobs/{created['job_id']}")
    assert found["statusCode"] == 200
    assert body_of(found) == created
    missing = call("GET", f"/jobs/{uuid.uuid4()}")
    assert missing["statusCode"] == 404
    assert body_of(missing)["error"] == "not_found"
    malformed = call("GET", "/jobs/not-a-uuid")
    assert malformed["statusCode"] == 400
    assert body_of(malformed)["details"] == [{"field": "job_id", "message": "must be a UUID"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ("[1, 2]", "body"),
        (json.dumps(valid_body(source_amount=-1)), "source_amount"),
        (json.dumps(valid_body(source_amount="1.00001")), "source_amount"),
        (json.dumps(valid_body(target_currency="GBP")), "target_currency"),
        (json.dumps(valid_body(source_currency="ABC")), "source_currency"),
        (json.dumps(valid_body(unexpected=True)), "unexpected"),
        (json.dumps({"client_id": "x"}), "source_currency"),
    ],
)
def test_bad_bodies_are_400_and_write_nothing(
    admin_db: psycopg.Connection[DictRow], body: str, field: str
) -> None:
    before = admin_db.execute(
        "SELECT count(*) AS jobs, (SELECT count(*) FROM outbox) AS events FROM conversion_jobs"
    )
    counts = before.fetchone()
    response = call("POST", "/jobs", body)
    assert response["statusCode"] == 400
    error = body_of(response)
    assert error["error"] == "validation_error"
    assert field in [detail["field"] for detail in error["details"]]
    after = admin_db.execute(
        "SELECT count(*) AS jobs, (SELECT count(*) FROM outbox) AS events FROM conversion_jobs"
    )
    assert after.fetchone() == counts


def test_wrong_content_type_is_415_and_oversized_body_is_413() -> None:
    form = call("POST", "/jobs", "client_id=x", {"Content-Type": "application/x-www-form-urlencoded"})
    assert (form["statusCode"], body_of(form)["error"]) == (415, "unsupported_media_type")
    huge = call("POST", "/jobs", json.dumps(valid_body(client_id="x" * (http.MAX_BODY_BYTES + 1))))
    assert (huge["statusCode"], body_of(huge)["error"]) == (413, "payload_too_large")


def test_json_with_a_charset_is_accepted() -> None:
    response = call("POST", "/jobs", valid_body(), {"Content-Type": "application/json; charset=utf-8"})
    assert response["statusCode"] == 201, response["body"]


def test_a_body_that_is_not_utf8_is_400_and_writes_nothing(admin_db: psycopg.Connection[DictRow]) -> None:
    body = valid_body()
    raw = b"\xff\xfe" + json.dumps(body).encode()
    event = api_event("POST", "/jobs", base64.b64encode(raw).decode())
    event["isBase64Encoded"] = True
    response = jobs_handler.handler(event, lambda_context("jobs-api"))
    assert response["statusCode"] == 400
    assert body_of(response)["error"] == "validation_error"
    assert body_of(response)["message"] == "request body is not valid UTF-8"
    assert rows_for_client(admin_db, body["client_id"]) == (0, 0)


def test_replay_with_the_amount_written_otherwise_is_the_same_request() -> None:
    body = valid_body(source_amount="12.5", idempotency_key="scale")
    first = call("POST", "/jobs", body)
    again = call("POST", "/jobs", {**body, "source_amount": "12.50"})
    other_currency = call("POST", "/jobs", {**body, "target_currency": "USD"})
    assert (first["statusCode"], again["statusCode"], other_currency["statusCode"]) == (201, 200, 409)
    assert body_of(again) == body_of(first)
    assert body_of(first)["source_amount"] == "12.5", "the first request's scale is the job's"


def test_a_new_job_nudges_the_dispatcher_and_a_replay_does_not(nudges: list[str]) -> None:
    body = valid_body(idempotency_key="nudge")
    assert call("POST", "/jobs", body)["statusCode"] == 201
    assert call("POST", "/jobs", body)["statusCode"] == 200
    assert nudges == ["nudge"]


def test_unknown_route_is_404_and_wrong_method_405() -> None:
    unknown = call("GET", "/nothing-here")
    assert (unknown["statusCode"], body_of(unknown)["error"]) == (404, "not_found")
    wrong = call("DELETE", "/jobs")
    assert (wrong["statusCode"], body_of(wrong)["error"]) == (405, "method_not_allowed")
    assert header(wrong, "Allow") == "POST"
    other_function = call("POST", "/ping")
    assert other_function["statusCode"] == 404, "the jobs API does not know the ping function's routes"


def test_database_down_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.conftest import reset_labcore

    monkeypatch.setenv("DB_PORT", "1")  # nothing listens there
    reset_labcore()
    response = call("POST", "/jobs", valid_body())
    assert response["statusCode"] == 503
    assert body_of(response) == {"error": "unavailable", "message": "the database is unavailable"}


def test_unexpected_failure_is_500_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(service, "create_job", broken)
    response = call("POST", "/jobs", valid_body())
    assert response["statusCode"] == 500
    assert body_of(response) == {"error": "internal", "message": "internal error"}


def test_dead_connection_is_replaced_before_the_transaction(admin_db: psycopg.Connection[DictRow]) -> None:
    conn = db.connection()
    pid = conn.info.backend_pid
    admin_db.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits for the exit
    response = call("POST", "/jobs", valid_body())
    assert response["statusCode"] == 201
    assert db.connection().info.backend_pid != pid


@pytest.mark.parametrize(
    ("completed", "assignments"),
    [
        (False, "status = 'processing'"),
        (False, "source_amount = 1.00001"),
        (True, "target_amount = 1.00001"),
    ],
)
def test_the_schema_refuses_what_the_api_never_writes(
    admin_db: psycopg.Connection[DictRow], completed: bool, assignments: str
) -> None:
    job = body_of(call("POST", "/jobs", valid_body()))
    if completed:  # a valid completed row at 4 places: only the value under test is refused
        admin_db.execute(
            "UPDATE conversion_jobs SET status = 'completed', rate = 1, target_amount = 1.0001,"
            " completed_at = now() WHERE job_id = %s",
            (job["job_id"],),
        )
    with pytest.raises(psycopg.errors.CheckViolation):
        admin_db.execute(f"UPDATE conversion_jobs SET {assignments} WHERE job_id = %s", (job["job_id"],))
