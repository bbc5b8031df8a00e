"""The events API's service against the lab's Postgres: rows, outbox, outcomes, round trips, reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from events_api import service
from events_api.models import CarEvent
from integration.conftest import RoundTripCounter
from integration.events_support import car_event, car_id, connect, ingest, rows_of, total_rows
from labcore import db, outbox
from labcore.errors import NotFound, Unavailable
from tests_support import app_conninfo

pytestmark = pytest.mark.usefixtures("app_environment", "forget_test_cars")


# --- created, duplicate, conflict -----------------------------------------------------------------
def test_a_new_event_writes_its_row_its_entities_and_one_outbox_row_per_entity(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    first, second = car_id(), car_id()
    event = car_event(entity_ids=[first, second], eventName="Cars Bought", eventType="CarsBought")
    assert ingest([event], {"correlation_id": "corr-7"}) == ["created"]

    stored = admin_db.execute("SELECT * FROM car_events WHERE event_id = %s", (event.event_id,)).fetchone()
    assert stored is not None
    assert (stored["event_name"], stored["event_type"]) == ("Cars Bought", "CarsBought")
    assert stored["created_date"] == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert stored["saved_date"] == datetime(2024, 1, 15, 10, 30, 5, tzinfo=UTC)
    assert stored["body"] == event.to_json()
    assert stored["body_hash"] == event.fingerprint()

    entities = admin_db.execute(
        "SELECT * FROM car_event_entities WHERE event_id = %s ORDER BY position", (event.event_id,)
    ).fetchall()
    assert [(e["position"], e["entity_id"], e["entity_type"]) for e in entities] == [
        (0, first, "Car"),
        (1, second, "Car"),
    ]
    assert [e["properties"] for e in entities] == [entity.properties() for entity in event.entities]
    assert entities[0]["properties"]["totalBalance"] == "1250.50"
    assert entities[0]["created_at"] == entities[0]["updated_at"] == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)

    messages = admin_db.execute(
        "SELECT * FROM outbox WHERE payload->>'eventId' = %s ORDER BY outbox_id", (str(event.event_id),)
    ).fetchall()
    body = event.to_json()
    assert [(m["topic"], m["aggregate_type"], m["aggregate_id"]) for m in messages] == [
        ("car-events", "car", first),
        ("car-events", "car", second),
    ]
    for message, entity_json in zip(messages, body["entities"], strict=True):
        assert message["event_type"] == "CarsBought"
        assert message["payload"] == {
            "eventId": str(event.event_id),
            "eventType": "CarsBought",
            "eventName": "Cars Bought",
            "createdDate": "2024-01-15T10:30:00Z",
            "savedDate": "2024-01-15T10:30:05Z",  # the event said 11:30:05+01:00: stored in UTC
            "entity": entity_json,
        }
        assert message["headers"] == {"correlation_id": "corr-7"}
        assert message["published_at"] is None


def test_the_same_event_again_is_a_duplicate_and_writes_nothing(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    event = car_event()
    assert ingest([event]) == ["created"]
    before = total_rows(admin_db)
    again = CarEvent.model_validate(event.to_json())  # another request with the same content
    assert ingest([again]) == ["duplicate"]
    assert total_rows(admin_db) == before
    assert rows_of(admin_db, [event]) == (1, 1, 1)


def test_a_used_uuid_with_another_body_is_a_conflict_and_writes_nothing(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    event = car_event()
    assert ingest([event]) == ["created"]
    before = total_rows(admin_db)
    other = car_event(event.event_id, [event.entities[0].id], mileage=10)
    assert ingest([other]) == ["conflict"]
    assert total_rows(admin_db) == before
    stored = admin_db.execute("SELECT body FROM car_events WHERE event_id = %s", (event.event_id,)).fetchone()
    assert stored is not None
    assert stored["body"] == event.to_json(), "the first body stays"


def test_a_bulk_reports_every_item_in_order_and_stores_only_the_new(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    existing = car_event()
    assert ingest([existing]) == ["created"]
    new_a, new_b = car_event(), car_event()
    request = [
        new_a,
        existing,  # stored before: duplicate
        car_event(existing.event_id, mileage=5),  # stored before with another body: conflict
        new_a,  # again in this request: the first decided
        car_event(new_a.event_id, mileage=7),  # new_a's uuid with another body
        new_b,
    ]
    assert ingest(request) == ["created", "duplicate", "conflict", "duplicate", "conflict", "created"]
    assert rows_of(admin_db, [existing, new_a, new_b]) == (3, 3, 3)
    stored = admin_db.execute("SELECT body FROM car_events WHERE event_id = %s", (new_a.event_id,)).fetchone()
    assert stored is not None
    assert stored["body"] == new_a.to_json()


def test_an_item_conflicting_with_the_store_stays_a_conflict_when_repeated(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    existing = car_event()
    ingest([existing])
    changed = car_event(existing.event_id, mileage=3)
    assert ingest([changed, changed, existing]) == ["conflict", "conflict", "duplicate"]
    assert rows_of(admin_db, [existing]) == (1, 1, 1)


def test_outbox_rows_of_one_car_follow_the_request_order(admin_db: psycopg.Connection[DictRow]) -> None:
    car = car_id()
    # The later update has the smaller uuid: the events are inserted in uuid order, the messages not.
    smaller, larger = sorted([uuid.uuid4(), uuid.uuid4()])
    created = car_event(larger, [car])
    updated = car_event(smaller, [car], mileage=120, eventType="CarUpdated")
    assert ingest([created, updated]) == ["created", "created"]
    messages = admin_db.execute(
        "SELECT payload->>'eventId' AS event_id FROM outbox WHERE aggregate_id = %s ORDER BY outbox_id",
        (car,),
    ).fetchall()
    assert [m["event_id"] for m in messages] == [str(created.event_id), str(updated.event_id)]


def test_an_empty_request_writes_nothing(admin_db: psycopg.Connection[DictRow]) -> None:
    before = total_rows(admin_db)
    assert ingest([]) == []
    assert total_rows(admin_db) == before


def test_enqueue_many_returns_the_ids_in_the_order_of_the_messages(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    names = [car_id() for _ in range(5)]
    messages = [
        outbox.Message("car", name, "car-events", "Test", {"n": n}, {}) for n, name in enumerate(names)
    ]
    ids = db.run_in_transaction(lambda conn: outbox.enqueue_many(conn, messages))
    rows = admin_db.execute(
        "SELECT outbox_id, aggregate_id, payload FROM outbox WHERE outbox_id = ANY(%s)", (ids,)
    ).fetchall()
    by_id = {row["outbox_id"]: (row["aggregate_id"], row["payload"]) for row in rows}
    assert [by_id[outbox_id] for outbox_id in ids] == [(name, {"n": n}) for n, name in enumerate(names)]
    assert ids == sorted(ids), "the dispatcher sends in id order"
    single = db.run_in_transaction(lambda conn: outbox.enqueue(conn, **vars(messages[0])))
    assert single > ids[-1]
    assert db.run_in_transaction(lambda conn: outbox.enqueue_many(conn, [])) == []


def test_enqueue_many_refuses_to_write_outside_a_transaction() -> None:
    message = outbox.Message("car", car_id(), "car-events", "Test", {}, {})
    with connect() as conn, pytest.raises(RuntimeError, match="open transaction"):
        outbox.enqueue_many(conn, [message])


# --- the transaction boundary ---------------------------------------------------------------------
@pytest.fixture
def failing_outbox_for(admin_db: psycopg.Connection[DictRow]) -> Iterator[str]:
    """An entity id whose outbox row the database refuses (a trigger), for this test only."""
    entity_id = car_id()
    name = f"refuse_{uuid.uuid4().hex[:8]}"
    admin_db.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN RAISE EXCEPTION 'outbox refused for {entity_id}'; END $$"
    )
    admin_db.execute(
        f"CREATE TRIGGER {name} BEFORE INSERT ON outbox FOR EACH ROW"
        f" WHEN (NEW.aggregate_id = '{entity_id}') EXECUTE FUNCTION {name}()"
    )
    yield entity_id
    admin_db.execute(f"DROP TRIGGER {name} ON outbox")
    admin_db.execute(f"DROP FUNCTION {name}()")


def test_a_failing_outbox_insert_leaves_no_event_and_no_entity(
    admin_db: psycopg.Connection[DictRow], failing_outbox_for: str
) -> None:
    events = [car_event(), car_event(entity_ids=[car_id(), failing_outbox_for])]
    with pytest.raises(psycopg.errors.RaiseException, match="outbox refused"):
        ingest(events)
    assert rows_of(admin_db, events) == (0, 0, 0)
    assert ingest(events[:1]) == ["created"], "nothing of the failed request was kept"


# --- round trips ----------------------------------------------------------------------------------
def round_trips(counter: RoundTripCounter, events: list[CarEvent]) -> int:
    """Round trips of one request's transaction (BEGIN and COMMIT included) on a fresh connection."""
    with psycopg.connect(**counter.conninfo(app_conninfo()), autocommit=True, row_factory=dict_row) as conn:
        counter.reset()
        with conn.transaction():
            service.ingest(conn, events, {"correlation_id": "count"})
        return counter.round_trips


def test_round_trips_do_not_grow_with_the_number_of_events(
    round_trip_counter: RoundTripCounter, admin_db: psycopg.Connection[DictRow]
) -> None:
    new: dict[int, int] = {}
    replayed: dict[int, int] = {}
    mixed: dict[int, int] = {}
    for size in (1, 10, 100):
        events = [car_event(entity_ids=[car_id(), car_id()]) for _ in range(size)]
        new[size] = round_trips(round_trip_counter, events)
        replayed[size] = round_trips(round_trip_counter, events)
        mixed[size] = round_trips(round_trip_counter, events + [car_event() for _ in range(size)])
        assert rows_of(admin_db, events) == (size, 2 * size, 2 * size)
    # BEGIN, the events, the entities, the outbox rows, COMMIT; a replay reads the stored hashes
    # instead of writing; a mixed request does both.
    assert new == {1: 5, 10: 5, 100: 5}
    assert replayed == {1: 4, 10: 4, 100: 4}
    assert mixed == {1: 6, 10: 6, 100: 6}


# --- the projection and the health check ----------------------------------------------------------
def test_get_entity_shows_the_projected_car_and_unknown_ids_are_not_found(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    entity_id, event_id = car_id(), uuid.uuid4()
    admin_db.execute(
        "INSERT INTO car_entities (entity_id, entity_type, vin, make, model, year, color, mileage,"
        " last_service_date, total_balance, last_loan_payment_date, owner, created_at, updated_at,"
        " last_event_id, projected_at) VALUES (%s, 'Car', '5TDJKRFH4LS123456', 'Tesla', 'Model 3', 2024,"
        " NULL, 1200, '2024-02-01T08:00:00+02:00', 99.5, NULL, 'Jane Roe', '2024-01-15T10:30:00Z',"
        " '2024-02-01T06:00:00.25Z', %s, '2024-02-01T06:00:01Z')",
        (entity_id, event_id),
    )
    found = db.run_in_transaction(lambda conn: service.get_entity(conn, entity_id))
    assert found == {
        "entityHeader": {
            "entityId": entity_id,
            "entityType": "Car",
            "createdAt": "2024-01-15T10:30:00Z",
            "updatedAt": "2024-02-01T06:00:00.250000Z",
        },
        "id": entity_id,
        "vin": "5TDJKRFH4LS123456",
        "make": "Tesla",
        "model": "Model 3",
        "year": 2024,
        "color": None,
        "mileage": 1200,
        "lastServiceDate": "2024-02-01T06:00:00Z",
        "totalBalance": "99.50",
        "lastLoanPaymentDate": None,
        "owner": "Jane Roe",
        "lastEventId": str(event_id),
        "projectedAt": "2024-02-01T06:00:01Z",
    }
    assert Decimal(found["totalBalance"]) == Decimal("99.5")
    with pytest.raises(NotFound, match="not found"):
        db.run_in_transaction(lambda conn: service.get_entity(conn, car_id()))


def test_check_database_needs_a_live_server(admin_db: psycopg.Connection[DictRow]) -> None:
    with connect() as conn:
        service.check_database(conn)
        admin_db.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError):
            service.check_database(conn)


def test_check_database_through_the_transaction_helper_is_unavailable_without_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from integration.conftest import reset_labcore

    db.run_in_transaction(service.check_database)
    monkeypatch.setenv("DB_PORT", "1")  # nothing listens there
    reset_labcore()
    with pytest.raises(Unavailable):
        db.run_in_transaction(service.check_database)
