"""The events API's service against the lab's Postgres: rows, outbox, outcomes, round trips, races."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from events_api import service
from events_api.models import CarEvent
from integration.conftest import RoundTripCounter
from labcore import db
from labcore.errors import NotFound, Unavailable
from tests_support import app_conninfo, poll

pytestmark = pytest.mark.usefixtures("app_environment")


def car_id() -> str:
    return f"CAR-{uuid.uuid4().hex[:12]}"


def car_event(
    event_id: uuid.UUID | None = None, entity_ids: Sequence[str] = (), mileage: int = 0, **header: str
) -> CarEvent:
    """A valid event with one entity per id (one new car when none are given)."""
    entities = [
        {
            "entityHeader": {
                "entityId": entity_id,
                "entityType": "Car",
                "createdAt": "2024-01-15T10:30:00Z",
                "updatedAt": "2024-01-15T10:30:00Z",
            },
            "id": entity_id,
            "vin": "5TDJKRFH4LS123456",
            "make": "Tesla",
            "model": "Model S",
            "year": 2025,
            "color": "Midnight Silver",
            "mileage": mileage,
            "lastServiceDate": "2024-01-15T10:30:00Z",
            "totalBalance": "1250.50",
            "lastLoanPaymentDate": None,
            "owner": "John Doe",
        }
        for entity_id in entity_ids or [car_id()]
    ]
    event_header = {
        "uuid": str(event_id or uuid.uuid4()),
        "eventName": "Car Created",
        "eventType": "CarCreated",
        "createdDate": "2024-01-15T10:30:00Z",
        "savedDate": "2024-01-15T11:30:05+01:00",
        **header,
    }
    return CarEvent.model_validate({"eventHeader": event_header, "entities": entities})


def ingest(events: Sequence[CarEvent], headers: dict[str, str] | None = None) -> list[service.Outcome]:
    return db.run_in_transaction(lambda conn: service.ingest(conn, events, headers or {}))


def rows_of(admin_db: psycopg.Connection[DictRow], events: Sequence[CarEvent]) -> tuple[int, int, int]:
    """car_events, car_event_entities and outbox rows of these events' uuids."""
    ids = [event.event_id for event in events]
    row = admin_db.execute(
        "SELECT (SELECT count(*) FROM car_events WHERE event_id = ANY(%(ids)s)) AS events,"
        " (SELECT count(*) FROM car_event_entities WHERE event_id = ANY(%(ids)s)) AS entities,"
        " (SELECT count(*) FROM outbox WHERE payload->>'eventId' = ANY(%(ids)s::text[])) AS outbox",
        {"ids": ids},
    ).fetchone()
    assert row is not None
    return row["events"], row["entities"], row["outbox"]


def total_rows(admin_db: psycopg.Connection[DictRow]) -> dict[str, Any] | None:
    return admin_db.execute(
        "SELECT (SELECT count(*) FROM car_events) AS events,"
        " (SELECT count(*) FROM car_event_entities) AS entities, (SELECT count(*) FROM outbox) AS outbox"
    ).fetchone()


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
            "savedDate": "2024-01-15T11:30:05+01:00",
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
    created = car_event(uuid.UUID(int=(1 << 127) + random.getrandbits(64)), [car])
    updated = car_event(uuid.UUID(int=random.getrandbits(64)), [car], mileage=120, eventType="CarUpdated")
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


# --- concurrency ----------------------------------------------------------------------------------
def connect() -> psycopg.Connection[DictRow]:
    return psycopg.connect(**app_conninfo(), autocommit=True, row_factory=dict_row)


def in_thread(work: Callable[[], list[service.Outcome]]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # asserted by the caller
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.parametrize(
    ("same_body", "first_commits", "expected"),
    [(True, True, "duplicate"), (False, True, "conflict"), (True, False, "created")],
)
def test_a_request_waits_for_a_concurrent_one_with_the_same_uuid(
    admin_db: psycopg.Connection[DictRow], same_body: bool, first_commits: bool, expected: str
) -> None:
    event = car_event()
    second = event if same_body else car_event(event.event_id, mileage=1)
    with psycopg.connect(**app_conninfo(), row_factory=dict_row) as first_conn, connect() as second_conn:
        assert service.ingest(first_conn, [event], {}) == ["created"]  # its transaction stays open

        def second_request() -> list[service.Outcome]:
            with second_conn.transaction():
                return service.ingest(second_conn, [second], {})

        thread, result = in_thread(second_request)

        def waiting_for_the_first() -> bool:
            row = admin_db.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (second_conn.info.backend_pid,)
            ).fetchone()
            return row is not None and row["wait_event_type"] == "Lock"

        poll(waiting_for_the_first, timeout=10, interval=0.01, what="the second insert to wait for the first")
        if first_commits:
            first_conn.commit()
        else:
            first_conn.rollback()
        thread.join(timeout=10)
    assert result == [[expected]]
    assert rows_of(admin_db, [event]) == (1, 1, 1)


def test_concurrent_bulks_sharing_uuids_in_any_order_store_each_event_once(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    events = [car_event() for _ in range(40)]
    barrier = threading.Barrier(8)

    def request(seed: int) -> Callable[[], list[service.Outcome]]:
        shuffled = random.Random(seed).sample(events, len(events))  # noqa: S311 (an order, not a secret)

        def run() -> list[service.Outcome]:
            with connect() as conn:
                barrier.wait(timeout=30)
                with conn.transaction():
                    outcomes = service.ingest(conn, shuffled, {})
            return [outcomes[shuffled.index(event)] for event in events]  # back to one order

        return run

    started = [in_thread(request(seed)) for seed in range(8)]
    for thread, _ in started:
        thread.join(timeout=60)
    results = [result[0] for _, result in started]
    assert not [r for r in results if isinstance(r, BaseException)], "no deadlock, no error"
    for position in range(len(events)):
        assert sorted(outcomes[position] for outcomes in results) == ["created"] + ["duplicate"] * 7
    assert rows_of(admin_db, events) == (40, 40, 40)


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
