"""The projector in-process against the lab's Postgres: once-only, newest state wins, one transaction."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from projector import handler as projector_handler
from projector import service
from projector_events import car_event, fifo_record
from tests_support import app_conninfo, lambda_context, row_locked

pytestmark = pytest.mark.usefixtures("app_environment")


def new_car() -> str:
    """A car of this test's own: other tests and runs share the database."""
    return f"CAR-T-{uuid.uuid4().hex[:12]}"


def new_key() -> int:
    return uuid.uuid4().int % 10**15


def at(minute: int) -> str:
    return f"2024-03-01T10:{minute:02d}:00Z"


def run(*records: dict[str, Any]) -> list[str]:
    response = projector_handler.handler({"Records": list(records)}, lambda_context("projector"))
    return [str(item["itemIdentifier"]) for item in response["batchItemFailures"]]


def update(car: str, minute: int, **fields: Any) -> dict[str, Any]:
    """A record of one update of `car` at 10:`minute`, keyed by a fresh outbox id."""
    return fifo_record(car_event(car, updated_at=at(minute), **fields), group=car, outbox_id=new_key())


def fifo_body(record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(record["body"])
    return body


def car_row(admin_db: psycopg.Connection[DictRow], car: str) -> dict[str, Any] | None:
    return admin_db.execute("SELECT * FROM car_entities WHERE entity_id = %s", (car,)).fetchone()


def inbox_keys(admin_db: psycopg.Connection[DictRow], *records: dict[str, Any]) -> list[str]:
    keys = [r["messageAttributes"]["outbox_id"]["stringValue"] for r in records]
    rows = admin_db.execute(
        "SELECT message_key FROM inbox WHERE consumer = 'projector' AND message_key = ANY(%s)", (keys,)
    ).fetchall()
    return sorted(row["message_key"] for row in rows)


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [getattr(r, "outcome", "") for r in caplog.records if r.getMessage() == "car event projected"]


def test_an_event_is_projected_with_exact_values(admin_db: psycopg.Connection[DictRow]) -> None:
    car = new_car()
    record = update(car, 5, mileage=1200, total_balance="1234.50", owner=None)
    assert run(record) == []
    row = car_row(admin_db, car)
    assert row is not None
    assert (row["entity_type"], row["vin"], row["make"], row["model"], row["year"]) == (
        "Car",
        "5TDJKRFH4LS123456",
        "Tesla",
        "Model S",
        2025,
    )
    assert (row["mileage"], row["owner"], row["color"]) == (1200, None, "Midnight Silver")
    assert row["total_balance"] == Decimal("1234.50")
    assert format(row["total_balance"], "f") == "1234.50", "stored exactly, to the cent"
    assert row["updated_at"].isoformat() == "2024-03-01T10:05:00+00:00"
    assert row["created_at"].isoformat() == "2024-01-15T10:30:00+00:00"
    assert row["last_service_date"].isoformat() == "2024-01-15T10:30:00+00:00"
    assert row["last_loan_payment_date"] is None
    assert str(row["last_event_id"]) == fifo_body(record)["eventId"]
    assert inbox_keys(admin_db, record) == [record["messageAttributes"]["outbox_id"]["stringValue"]]


def test_a_newer_update_replaces_every_field(admin_db: psycopg.Connection[DictRow]) -> None:
    car = new_car()
    assert run(update(car, 1)) == []
    columns = (
        "vin, make, model, year, color, mileage, last_service_date, total_balance,"
        " last_loan_payment_date, owner, created_at, updated_at, last_event_id"
    )
    before = admin_db.execute(f"SELECT {columns} FROM car_entities WHERE entity_id = %s", (car,)).fetchone()
    changed = update(
        car,
        2,
        vin="1HGCM82633A004352",
        make="Volvo",
        model="EX30",
        year=2024,
        color=None,
        mileage=5,
        lastServiceDate=None,
        total_balance="99.90",
        lastLoanPaymentDate="2024-03-01T09:00:00Z",
        owner="Jane Roe",
    )
    body = fifo_body(changed)
    body["entity"]["entityHeader"]["createdAt"] = "2024-02-01T00:00:00Z"
    changed["body"] = json.dumps(body)
    assert run(changed) == []
    after = admin_db.execute(f"SELECT {columns} FROM car_entities WHERE entity_id = %s", (car,)).fetchone()
    assert before is not None and after is not None
    assert [name for name in after if after[name] == before[name]] == [], "every column took the new value"
    assert str(after["last_event_id"]) == body["eventId"]
    assert (after["make"], after["color"], after["total_balance"]) == ("Volvo", None, Decimal("99.90"))


def test_the_same_message_twice_is_projected_once(
    admin_db: psycopg.Connection[DictRow], caplog: pytest.LogCaptureFixture
) -> None:
    car = new_car()
    record = update(car, 5, mileage=10)
    assert run(record) == []
    # Someone edits the row: a redelivered copy must still not apply a second time.
    admin_db.execute("UPDATE car_entities SET mileage = 99 WHERE entity_id = %s", (car,))
    assert run(record) == [], "a duplicate is acknowledged"
    row = car_row(admin_db, car)
    assert row is not None and row["mileage"] == 99, "and changes nothing"
    assert outcomes(caplog) == ["applied", "duplicate"]


def test_an_older_update_after_a_newer_one_leaves_the_newer_state(
    admin_db: psycopg.Connection[DictRow], caplog: pytest.LogCaptureFixture
) -> None:
    car = new_car()
    newer, older = update(car, 30, mileage=300), update(car, 20, mileage=200)
    assert run(newer) == []
    assert run(older) == [], "a stale update is acknowledged, not retried"
    row = car_row(admin_db, car)
    assert row is not None
    assert (row["mileage"], str(row["last_event_id"])) == (300, fifo_body(newer)["eventId"])
    assert outcomes(caplog) == ["applied", "stale"]
    assert len(inbox_keys(admin_db, newer, older)) == 2, "the stale one is consumed too"


def test_an_update_with_the_same_updated_at_is_stale(
    admin_db: psycopg.Connection[DictRow], caplog: pytest.LogCaptureFixture
) -> None:
    """Equal is stale: a republished or redriven event never replaces the state applied first."""
    car = new_car()
    first, same_time = update(car, 15, mileage=150), update(car, 15, mileage=151)
    assert run(first) == [] and run(same_time) == []
    row = car_row(admin_db, car)
    assert row is not None and (row["mileage"], str(row["last_event_id"])) == (
        150,
        fifo_body(first)["eventId"],
    )
    assert outcomes(caplog) == ["applied", "stale"]


def test_out_of_order_then_in_order_updates_end_at_the_newest(
    admin_db: psycopg.Connection[DictRow], caplog: pytest.LogCaptureFixture
) -> None:
    car = new_car()
    records = [update(car, minute, mileage=minute) for minute in (30, 10, 20, 40, 50)]
    for record in records:  # one per batch, as a redrive would deliver them
        assert run(record) == []
    row = car_row(admin_db, car)
    assert row is not None and row["mileage"] == 50
    assert outcomes(caplog) == ["applied", "stale", "stale", "applied", "applied"]


def test_a_batch_projects_each_cars_updates_in_order(admin_db: psycopg.Connection[DictRow]) -> None:
    car_a, car_b = new_car(), new_car()
    batch = [update(car_a, 1, mileage=1), update(car_b, 1, mileage=10), update(car_a, 2, mileage=2)]
    assert run(*batch) == []
    rows = [car_row(admin_db, car) for car in (car_a, car_b)]
    assert [row["mileage"] if row else None for row in rows] == [2, 10]


def test_a_failed_upsert_rolls_back_its_inbox_row_and_stops_only_its_car(
    admin_db: psycopg.Connection[DictRow], monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration.conftest import reset_labcore

    car, other = new_car(), new_car()
    assert run(update(car, 1, mileage=1)) == []
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "300")
    reset_labcore()
    blocked, behind, elsewhere = update(car, 2, mileage=2), update(car, 3, mileage=3), update(other, 1)

    # Another transaction holds the car's row: the upsert times out after the inbox insert.
    with row_locked("SELECT 1 FROM car_entities WHERE entity_id = %s FOR UPDATE", (car,)):
        failed = run(blocked, elsewhere, behind)
    assert failed == [blocked["messageId"], behind["messageId"]], "the car's later update waits with it"
    assert inbox_keys(admin_db, blocked, behind) == [], "the inbox row rolled back with the upsert"
    row = car_row(admin_db, car)
    assert row is not None and row["mileage"] == 1
    assert car_row(admin_db, other) is not None, "another car goes on"
    # SQS delivers both again, in order, once the lock is gone: both apply.
    assert run(blocked, behind) == []
    row = car_row(admin_db, car)
    assert row is not None and row["mileage"] == 3
    assert len(inbox_keys(admin_db, blocked, behind)) == 2


def test_a_row_the_database_refuses_leaves_no_inbox_row(admin_db: psycopg.Connection[DictRow]) -> None:
    """year does not fit the column: the upsert fails after the inbox insert, and both are undone."""
    car, other = new_car(), new_car()
    record = update(car, 1, year=40000)
    assert run(record, update(other, 1)) == [record["messageId"]]
    assert inbox_keys(admin_db, record) == []
    assert car_row(admin_db, car) is None


def test_a_poison_message_writes_nothing(admin_db: psycopg.Connection[DictRow]) -> None:
    car, other = new_car(), new_car()
    record = update(car, 1, totalBalance=12.5)
    assert run(record, update(other, 1)) == [record["messageId"]]
    assert inbox_keys(admin_db, record) == []
    assert car_row(admin_db, car) is None


def test_concurrent_projections_in_any_order_keep_the_newest(admin_db: psycopg.Connection[DictRow]) -> None:
    """Redrives or two consumers racing on one car: the guard holds under concurrent upserts too."""
    car = new_car()
    minutes = [n * 7 % 30 for n in range(30)]  # every minute of 0..29 once, out of order
    payloads = [car_event(car, updated_at=at(minute), mileage=minute) for minute in minutes]

    def project(payload: dict[str, Any]) -> str:
        with (
            psycopg.connect(**app_conninfo(), autocommit=True, row_factory=dict_row) as conn,
            conn.transaction(),
        ):
            return service.project(conn, str(new_key()), payload)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(project, payloads))
    assert set(results) <= {"applied", "stale"} and "applied" in results
    row = car_row(admin_db, car)
    assert row is not None and (row["mileage"], row["updated_at"].minute) == (29, 29)
