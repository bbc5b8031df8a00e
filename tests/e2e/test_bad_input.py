"""Bad inputs write nothing: each rejected request, then a valid one with the same key, creates (201).

For POST /jobs the key is the client's idempotency_key; for the events API, the event's uuid. A
rejected request that had stored anything under its key would make the valid one a replay (200) or
a conflict (409); the rows are also counted directly.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
import requests
from psycopg.rows import DictRow

import car_events

JSON = "application/json"
JOB_LIMIT = 16 * 1024
EVENT_LIMIT = 64 * 1024


def job(client_id: str, key: str, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "source_currency": "EUR",
        "target_currency": "USD",
        "source_amount": "10.00",
        "idempotency_key": key,
        **overrides,
    }


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


# Each rejected kind of POST /jobs: (name, raw body from (client, key), content type, status, code).
JOB_REJECTIONS: list[tuple[str, Any, str, int, str]] = [
    (
        "form content type",
        lambda c, k: as_json(job(c, k)),
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    ("no content type", lambda c, k: as_json(job(c, k)), "", 415, "unsupported_media_type"),
    ("too large", lambda c, k: as_json(job(c, k, pad="x" * JOB_LIMIT)), JSON, 413, "payload_too_large"),
    ("not JSON", lambda c, k: as_json(job(c, k))[:-1], JSON, 400, "validation_error"),
    ("not UTF-8", lambda c, k: b"\xff\xfe" + as_json(job(c, k)), JSON, 400, "validation_error"),
    ("not an object", lambda c, k: as_json([job(c, k)]), JSON, 400, "validation_error"),
    ("unknown field", lambda c, k: as_json(job(c, k, priority=1)), JSON, 400, "validation_error"),
    ("amount zero", lambda c, k: as_json(job(c, k, source_amount="0")), JSON, 400, "validation_error"),
    ("amount negative", lambda c, k: as_json(job(c, k, source_amount=-5)), JSON, 400, "validation_error"),
    (
        "amount too precise",
        lambda c, k: as_json(job(c, k, source_amount="1.00001")),
        JSON,
        400,
        "validation_error",
    ),
    (
        "amount a float string",
        lambda c, k: as_json(job(c, k, source_amount="1e3")),
        JSON,
        400,
        "validation_error",
    ),
    (
        "same currencies",
        lambda c, k: as_json(job(c, k, target_currency="EUR")),
        JSON,
        400,
        "validation_error",
    ),
    (
        "unknown currency",
        lambda c, k: as_json(job(c, k, source_currency="XXY")),
        JSON,
        400,
        "validation_error",
    ),
    (
        "client id a number",
        lambda c, k: as_json({**job(c, k), "client_id": 42}),
        JSON,
        400,
        "validation_error",
    ),
    (
        "client missing",
        lambda c, k: as_json({key: v for key, v in job(c, k).items() if key != "client_id"}),
        JSON,
        400,
        "validation_error",
    ),
]


@pytest.fixture(scope="module")
def jobs_url(outputs: dict[str, Any]) -> str:
    return str(outputs["jobs_url"])


@pytest.fixture(scope="module")
def events_url(outputs: dict[str, Any]) -> str:
    return str(outputs["events_url"])


def post(url: str, body: bytes, content_type: str) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}  # requests adds none for bytes
    return requests.post(url, data=body, headers=headers, timeout=15)


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(JSON)
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert response.headers["X-Correlation-Id"]


def job_rows(db: psycopg.Connection[DictRow], client_id: str) -> dict[str, Any] | None:
    return db.execute(
        "SELECT (SELECT count(*) FROM conversion_jobs WHERE client_id = %(c)s) AS jobs,"
        " (SELECT count(*) FROM outbox WHERE payload->>'client_id' = %(c)s) AS events",
        {"c": client_id},
    ).fetchone()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [case[1:] for case in JOB_REJECTIONS],
    ids=[case[0] for case in JOB_REJECTIONS],
)
def test_a_rejected_job_writes_nothing_and_frees_its_key(
    jobs_url: str,
    admin_db: psycopg.Connection[DictRow],
    body: Any,
    content_type: str,
    status: int,
    code: str,
) -> None:
    client_id, key = f"bad-{uuid.uuid4().hex[:10]}", f"key-{uuid.uuid4()}"
    assert_error(post(jobs_url, body(client_id, key), content_type), status, code)
    assert job_rows(admin_db, client_id) == {"jobs": 0, "events": 0}

    valid = requests.post(jobs_url, json=job(client_id, key), timeout=15)
    assert valid.status_code == 201, valid.text
    assert valid.json()["idempotency_key"] == key
    assert job_rows(admin_db, client_id) == {"jobs": 1, "events": 1}


def event_rows(db: psycopg.Connection[DictRow], event_id: str) -> dict[str, Any] | None:
    return db.execute(
        "SELECT (SELECT count(*) FROM car_events WHERE event_id = %(e)s) AS events,"
        " (SELECT count(*) FROM car_event_entities WHERE event_id = %(e)s) AS entities,"
        " (SELECT count(*) FROM outbox WHERE payload->>'eventId' = %(e)s::text) AS outbox",
        {"e": event_id},
    ).fetchone()


def valid_event(event_id: str) -> dict[str, Any]:
    return car_events.car_event([f"CAR-BAD-{uuid.uuid4().hex[:10]}"], event_id=event_id)


def invalid_event(event_id: str, **entity: Any) -> dict[str, Any]:
    event = valid_event(event_id)
    event["entities"][0].update(entity)
    return event


# Each rejected kind of POST /api/v1/events: (name, raw body from the uuid, content type, status, code).
EVENT_REJECTIONS: list[tuple[str, Any, str, int, str]] = [
    ("form content type", lambda e: as_json(valid_event(e)), "text/plain", 415, "unsupported_media_type"),
    (
        "too large",
        lambda e: as_json(invalid_event(e, owner="x" * EVENT_LIMIT)),
        JSON,
        413,
        "payload_too_large",
    ),
    ("not JSON", lambda e: as_json(valid_event(e))[:-2], JSON, 400, "validation_error"),
    ("not UTF-8", lambda e: b"\xff\xfe" + as_json(valid_event(e)), JSON, 400, "validation_error"),
    ("bad VIN", lambda e: as_json(invalid_event(e, vin="lowercase-vin-123")), JSON, 400, "validation_error"),
    ("negative mileage", lambda e: as_json(invalid_event(e, mileage=-1)), JSON, 400, "validation_error"),
    (
        "balance three places",
        lambda e: as_json(invalid_event(e, totalBalance="1.005")),
        JSON,
        400,
        "validation_error",
    ),
    ("unknown field", lambda e: as_json(invalid_event(e, wheels=4)), JSON, 400, "validation_error"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [case[1:] for case in EVENT_REJECTIONS],
    ids=[case[0] for case in EVENT_REJECTIONS],
)
def test_a_rejected_event_writes_nothing_and_frees_its_uuid(
    events_url: str,
    admin_db: psycopg.Connection[DictRow],
    body: Any,
    content_type: str,
    status: int,
    code: str,
) -> None:
    event_id = str(uuid.uuid4())
    assert_error(post(events_url, body(event_id), content_type), status, code)
    assert event_rows(admin_db, event_id) == {"events": 0, "entities": 0, "outbox": 0}

    valid = requests.post(events_url, json=valid_event(event_id), timeout=15)
    assert valid.status_code == 201, valid.text
    assert valid.json() == {"eventId": event_id, "duplicate": False, "entities": 1}
    assert event_rows(admin_db, event_id) == {"events": 1, "entities": 1, "outbox": 1}


def test_an_invalid_bulk_item_writes_nothing_and_frees_its_uuid(
    events_url: str, admin_db: psycopg.Connection[DictRow]
) -> None:
    bad_id, good_id = str(uuid.uuid4()), str(uuid.uuid4())
    bulk = requests.post(
        f"{events_url}/bulk",
        json={"events": [invalid_event(bad_id, mileage=-1), valid_event(good_id)]},
        timeout=15,
    )
    assert bulk.status_code == 200, bulk.text
    results = bulk.json()["results"]
    assert [result["status"] for result in results] == ["invalid", "created"]
    assert event_rows(admin_db, bad_id) == {"events": 0, "entities": 0, "outbox": 0}

    valid = requests.post(events_url, json=valid_event(bad_id), timeout=15)
    assert valid.status_code == 201, valid.text
    assert event_rows(admin_db, bad_id) == {"events": 1, "entities": 1, "outbox": 1}


# Each rejected kind of bulk request, built around one valid event: (name, body from its uuid, status).
BULK_REJECTIONS: list[tuple[str, Any, int, str]] = [
    ("events not a list", lambda e: {"events": valid_event(e)}, 400, "validation_error"),
    ("unknown field", lambda e: {"events": [valid_event(e)], "extra": 1}, 400, "validation_error"),
    ("over 100 events", lambda e: {"events": [valid_event(e)] * 101}, 413, "payload_too_large"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in BULK_REJECTIONS],
    ids=[case[0] for case in BULK_REJECTIONS],
)
def test_a_rejected_bulk_request_writes_nothing_and_frees_its_uuids(
    events_url: str, admin_db: psycopg.Connection[DictRow], body: Any, status: int, code: str
) -> None:
    event_id = str(uuid.uuid4())
    assert_error(requests.post(f"{events_url}/bulk", json=body(event_id), timeout=15), status, code)
    assert event_rows(admin_db, event_id) == {"events": 0, "entities": 0, "outbox": 0}

    valid = requests.post(events_url, json=valid_event(event_id), timeout=15)
    assert valid.status_code == 201, valid.text
