"""The events API's HTTP adapter without a database: limits, per-item results, health, payload 2.0."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from labcore import http
from labcore.errors import Unavailable

# The handler validates its settings at import, as on a cold start: given them for the import only,
# so no other test of the session sees them (the database is never reached here).
with pytest.MonkeyPatch.context() as _import_env:
    for _name, _value in {
        "DISPATCHER_FUNCTION": "outbox-lab-dispatcher",
        "DATABASE_URL": "postgresql://app:secret@db.invalid:5432/outbox",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        if _name not in os.environ:
            _import_env.setenv(_name, _value)
    from events_api import handler, service
from events_api.models import MAX_BULK_EVENTS, MAX_ENTITIES
from labcore import db

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "events"
VALID: dict[str, Any] = json.loads((SAMPLES / "valid" / "car-created.json").read_text())


class FakeContext:
    function_name = "events-api"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:events-api"
    aws_request_id = "req-1"


def rest_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    return {
        "resource": "/api/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"proxy": path.removeprefix("/api/")},
        "requestContext": {"requestId": "rest-req", "stage": "lab", "path": f"/lab{path}"},
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def call(method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    response = handler.handler(rest_event(method, path, body), FakeContext())  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The database is never reached: a call to it is recorded and fails the test's request."""
    calls: list[Any] = []

    def refuse(work: Any) -> Any:
        calls.append(work)
        raise Unavailable("the database is unavailable")

    monkeypatch.setattr(db, "run_in_transaction", refuse)
    yield calls


def test_more_than_the_bulk_limit_is_413_before_any_item_is_validated(no_database: list[Any]) -> None:
    status, body = call("POST", "/api/v1/events/bulk", {"events": [{}] * 101})
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert "at most 100 events" in body["message"]
    assert no_database == []


def test_exactly_the_limit_is_validated_item_by_item(no_database: list[Any]) -> None:
    status, body = call("POST", "/api/v1/events/bulk", {"events": [{}] * 100})
    assert status == 200
    assert body["summary"] == {"created": 0, "duplicate": 0, "conflict": 0, "invalid": 100}
    assert no_database == []  # nothing valid: nothing to store


@pytest.mark.parametrize(
    "body",
    [{"events": []}, {"events": {}}, {"items": [VALID]}, {"events": [VALID], "extra": 1}],
    ids=["empty", "not-a-list", "wrong-key", "extra-key"],
)
def test_a_bulk_body_of_the_wrong_shape_is_400(body: dict[str, Any], no_database: list[Any]) -> None:
    status, answer = call("POST", "/api/v1/events/bulk", body)
    assert status == 400
    assert answer["error"] == "validation_error"
    assert answer["details"][0]["field"] == "events"


def test_bulk_reports_invalid_items_by_index_with_their_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    stored: list[list[Any]] = []

    def ingest(conn: Any, events: list[Any], headers: dict[str, str]) -> list[str]:
        stored.append(events)
        return ["created"] * len(events)

    monkeypatch.setattr(db, "run_in_transaction", lambda work: work(None))
    monkeypatch.setattr(service, "ingest", ingest)
    bad = {**VALID, "entities": [{**VALID["entities"][0], "year": 1500}]}
    status, body = call("POST", "/api/v1/events/bulk", {"events": [bad, VALID]})
    assert status == 200
    assert body["results"][0] == {
        "index": 0,
        "status": "invalid",
        "errors": [{"field": "entities.0.year", "message": body["results"][0]["errors"][0]["message"]}],
    }
    assert body["results"][1] == {"index": 1, "eventId": VALID["eventHeader"]["uuid"], "status": "created"}
    assert [[str(event.event_id) for event in events] for events in stored] == [
        [VALID["eventHeader"]["uuid"]]
    ]


def test_health_is_503_when_the_database_is_unavailable(no_database: list[Any]) -> None:
    assert call("GET", "/api/v1/events/health") == (503, {"status": "unavailable", "database": "unavailable"})


def test_a_conflicting_single_event_is_409(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "run_in_transaction", lambda work: ["conflict"])
    status, body = call("POST", "/api/v1/events", VALID)
    assert status == 409
    assert body["error"] == "conflict"


def test_the_same_routes_serve_an_http_api_payload_v2(no_database: list[Any]) -> None:
    """Moving to an HTTP API is a resolver change: the router is included into another kind."""
    app = http.resolver(APIGatewayHttpResolver)
    app.include_router(handler.routes)
    event = {
        "version": "2.0",
        "routeKey": "ANY /api/{proxy+}",
        "rawPath": "/api/v1/events",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/api/v1/events",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
            },
            "requestId": "v2-req",
            "stage": "$default",
        },
        "body": json.dumps({**VALID, "entities": []}),
        "isBase64Encoded": False,
    }
    response = http.handle(app, event, FakeContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["details"][0]["field"] == "entities"
    assert response["headers"]["X-Correlation-Id"] == "v2-req"
    assert "multiValueHeaders" not in response


def test_an_event_of_the_most_cars_fits_the_body_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "run_in_transaction", lambda work: ["created"])
    car = VALID["entities"][0]
    cars = [
        {**car, "id": f"CAR-{i:04}", "entityHeader": {**car["entityHeader"], "entityId": f"CAR-{i:04}"}}
        for i in range(MAX_ENTITIES)
    ]
    body = {**VALID, "entities": cars}
    assert len(json.dumps(body)) > http.MAX_BODY_BYTES  # more than the jobs API takes
    assert call("POST", "/api/v1/events", body) == (
        201,
        {"eventId": VALID["eventHeader"]["uuid"], "duplicate": False, "entities": MAX_ENTITIES},
    )


def test_a_bulk_of_the_most_events_of_the_most_cars_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "run_in_transaction", lambda work: [])
    car = VALID["entities"][0]
    cars = [
        {**car, "id": f"CAR-{i:04}", "entityHeader": {**car["entityHeader"], "entityId": f"CAR-{i:04}"}}
        for i in range(MAX_ENTITIES)
    ]
    events = [{**VALID, "entities": cars, "extra": 1} for _ in range(MAX_BULK_EVENTS)]  # invalid: no DB
    status, body = call("POST", "/api/v1/events/bulk", {"events": events})
    assert status == 200, body
    assert body["summary"]["invalid"] == MAX_BULK_EVENTS


def test_the_bulk_sample_of_the_docs_is_three_good_events_and_a_bad_vin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "run_in_transaction", lambda work: ["created", "created", "created"])
    sample = SAMPLES / "bulk.json"
    status, body = call("POST", "/api/v1/events/bulk", json.loads(sample.read_text()))
    assert status == 200
    assert [item["status"] for item in body["results"]] == ["created", "created", "created", "invalid"]
    assert body["results"][3]["errors"][0]["field"] == "entities.0.vin"


@pytest.mark.parametrize(("outcomes", "nudged"), [(["created"], 1), (["duplicate"], 0)])
def test_the_dispatcher_is_nudged_only_when_something_was_created(
    monkeypatch: pytest.MonkeyPatch, outcomes: list[str], nudged: int
) -> None:
    nudges: list[None] = []
    monkeypatch.setattr(handler, "nudge", lambda: nudges.append(None))
    monkeypatch.setattr(db, "run_in_transaction", lambda work: outcomes)
    status, _ = call("POST", "/api/v1/events", VALID)
    assert (status, len(nudges)) == (201 if outcomes == ["created"] else 200, nudged)
