"""The events API over real HTTP through the _user_request_ URL, into Postgres, through the FIFO queue
to the projection."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from psycopg.rows import DictRow

import car_events
from tests_support import poll

PROJECTION_DEADLINE_S = 60.0
LAB = [sys.executable, str(Path(__file__).resolve().parents[2] / "scripts" / "lab")]


def car_event(
    entity_id: str, updated: datetime, *, mileage: int = 0, event_type: str = "CarUpdated"
) -> dict[str, Any]:
    """A valid event for one car, its state as of `updated`, with a JSON-number balance."""
    stamp = updated.isoformat().replace("+00:00", "Z")
    return car_events.car_event(
        [entity_id], updated_at=stamp, mileage=mileage, total_balance=1234.5, eventType=event_type
    )


def new_car_id() -> str:
    return f"CAR-E2E-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def events_url(outputs: dict[str, Any]) -> str:
    return str(outputs["events_url"])


@pytest.fixture(scope="module")
def entities_url(outputs: dict[str, Any]) -> str:
    return str(outputs["entities_url"])


def projected(entities_url: str, entity_id: str, when: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        response = requests.get(f"{entities_url}/{entity_id}", timeout=10)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if when(body) else None

    return poll(read, timeout=PROJECTION_DEADLINE_S, what=f"car {entity_id} in the projection")


def test_single_event_created_replayed_conflicting_and_projected(events_url: str, entities_url: str) -> None:
    car = new_car_id()
    event = car_event(car, datetime(2024, 2, 1, tzinfo=UTC), mileage=42, event_type="CarCreated")

    created = requests.post(events_url, json=event, timeout=10)
    assert created.status_code == 201, created.text
    assert created.json() == {"eventId": event["eventHeader"]["uuid"], "duplicate": False, "entities": 1}

    again = requests.post(events_url, json=event, timeout=10)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True

    changed = {**event, "entities": [{**event["entities"][0], "mileage": 43}]}
    conflict = requests.post(
        events_url, json=changed, headers={"X-Correlation-Id": "e2e-conflict"}, timeout=10
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "conflict"
    assert conflict.headers["X-Correlation-Id"] == "e2e-conflict"

    car_state = projected(entities_url, car, lambda body: True)
    assert car_state["entityHeader"]["entityId"] == car
    assert (car_state["mileage"], car_state["totalBalance"], car_state["vin"]) == (
        42,
        "1234.50",
        "5TDJKRFH4LS123456",
    )
    assert car_state["lastEventId"] == event["eventHeader"]["uuid"]


def test_invalid_event_is_400_with_the_field_and_stores_nothing(
    events_url: str, admin_db: psycopg.Connection[DictRow]
) -> None:
    event = car_event(new_car_id(), datetime(2024, 2, 1, tzinfo=UTC))
    bad = {
        **event,
        "entities": [{**event["entities"][0], "vin": "5TDJKRFH4LS12345O"}],
    }  # O is not a VIN letter

    rejected = requests.post(events_url, json=bad, timeout=10)
    assert rejected.status_code == 400, rejected.text
    assert rejected.json()["error"] == "validation_error"
    assert [d["field"] for d in rejected.json()["details"]] == ["entities.0.vin"]
    count = admin_db.execute(
        "SELECT count(*) AS n FROM car_events WHERE event_id = %s", (event["eventHeader"]["uuid"],)
    )
    assert count.fetchone() == {"n": 0}
    # The uuid was not used up: the valid event under it is created.
    assert requests.post(events_url, json=event, timeout=10).status_code == 201


def test_bulk_reports_every_item_and_stores_the_good_ones(
    events_url: str, admin_db: psycopg.Connection[DictRow]
) -> None:
    existing = car_event(new_car_id(), datetime(2024, 3, 1, tzinfo=UTC))
    assert requests.post(events_url, json=existing, timeout=10).status_code == 201
    fresh = car_event(new_car_id(), datetime(2024, 3, 1, tzinfo=UTC))
    invalid = car_event(new_car_id(), datetime(2024, 3, 1, tzinfo=UTC))
    invalid["entities"][0]["mileage"] = -1
    conflicting = {**existing, "entities": [{**existing["entities"][0], "owner": "Someone Else"}]}

    response = requests.post(
        f"{events_url}/bulk", json={"events": [fresh, invalid, existing, conflicting, fresh]}, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["status"] for item in body["results"]] == [
        "created",
        "invalid",
        "duplicate",
        "conflict",
        "duplicate",
    ]
    assert [item["index"] for item in body["results"]] == [0, 1, 2, 3, 4]
    assert body["results"][1]["errors"][0]["field"] == "entities.0.mileage"
    assert body["summary"] == {"created": 1, "duplicate": 2, "conflict": 1, "invalid": 1}
    stored = admin_db.execute(
        "SELECT event_id::text AS id FROM car_events WHERE event_id = ANY(%s::uuid[])",
        ([e["eventHeader"]["uuid"] for e in (fresh, invalid)],),
    ).fetchall()
    assert stored == [{"id": fresh["eventHeader"]["uuid"]}]


def test_bulk_over_the_limit_is_413_naming_it(events_url: str) -> None:
    event = car_event(new_car_id(), datetime(2024, 3, 1, tzinfo=UTC))
    response = requests.post(f"{events_url}/bulk", json={"events": [event] * 101}, timeout=10)
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "payload_too_large"
    assert "100" in response.json()["message"]


def test_updates_of_one_car_are_projected_in_order(
    events_url: str, entities_url: str, admin_db: psycopg.Connection[DictRow]
) -> None:
    car = new_car_id()
    start = datetime(2024, 4, 1, tzinfo=UTC)
    updates = [car_event(car, start + timedelta(minutes=step), mileage=100 * step) for step in range(8)]
    for update in updates:  # back to back: the dispatcher publishes them in few claims
        assert requests.post(events_url, json=update, timeout=10).status_code == 201

    last = projected(entities_url, car, lambda body: body["mileage"] == 700)
    assert last["lastEventId"] == updates[-1]["eventHeader"]["uuid"]
    assert last["entityHeader"]["updatedAt"].startswith("2024-04-01T00:07:00")
    # Every update reached the projector once, in the order they were written.
    applied = poll(
        lambda: (
            admin_db.execute(
                "SELECT count(*) AS n FROM inbox i JOIN outbox o ON i.message_key = o.outbox_id::text"
                " WHERE i.consumer = 'projector' AND o.aggregate_id = %s",
                (car,),
            ).fetchone()
            or None
        ),
        timeout=PROJECTION_DEADLINE_S,
        what="the projector's inbox rows",
    )
    assert applied == {"n": 8}


def test_the_execute_api_url_reaches_the_same_api(outputs: dict[str, Any]) -> None:
    response = requests.get(f"{outputs['events_execute_api_url']}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def postgres_stopped() -> Iterator[None]:
    subprocess.run([*LAB, "stop-postgres"], check=True, stdin=subprocess.DEVNULL)
    try:
        yield
    finally:  # `up` starts only what is down
        subprocess.run([*LAB, "up"], check=True, stdin=subprocess.DEVNULL)


def test_health_is_503_fast_while_postgres_is_down_and_200_after(
    events_url: str, postgres_stopped: None
) -> None:
    started = time.monotonic()
    down = requests.get(f"{events_url}/health", timeout=10)
    elapsed = time.monotonic() - started
    assert down.status_code == 503, down.text
    assert down.json() == {"status": "unavailable", "database": "unavailable"}
    # A refused connection is reported at once, not after DB_CONNECT_TIMEOUT (3 s).
    assert elapsed < 2.0, f"health took {elapsed:.2f} s with Postgres down"

    subprocess.run([*LAB, "up"], check=True, stdin=subprocess.DEVNULL)
    back = poll(
        lambda: requests.get(f"{events_url}/health", timeout=10).status_code == 200 or None,
        timeout=30,
        what="health 200 after Postgres is back",
    )
    assert back is True
