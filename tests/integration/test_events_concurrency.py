"""Concurrent events API requests sharing uuids: one creates, the others wait and see its commit."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from events_api import service
from integration.events_support import car_event, connect, in_thread, rows_of
from tests_support import app_conninfo, poll

pytestmark = pytest.mark.usefixtures("app_environment", "forget_test_cars")


def wait_until_blocked(admin_db: psycopg.Connection[DictRow], conn: psycopg.Connection[DictRow]) -> None:
    """Return once `conn`'s statement waits for a lock another transaction holds."""

    def waiting() -> bool:
        row = admin_db.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (conn.info.backend_pid,)
        ).fetchone()
        return row is not None and row["wait_event_type"] == "Lock"

    poll(waiting, timeout=10, interval=0.01, what="the insert to wait for the other transaction")


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
        wait_until_blocked(admin_db, second_conn)
        if first_commits:
            first_conn.commit()
        else:
            first_conn.rollback()
        thread.join(timeout=10)
    assert result == [[expected]]
    assert rows_of(admin_db, [event]) == (1, 1, 1)


def test_requests_sharing_uuids_in_opposite_orders_wait_instead_of_deadlocking(
    admin_db: psycopg.Connection[DictRow],
) -> None:
    low, high = (car_event(event_id) for event_id in sorted([uuid.uuid4(), uuid.uuid4()]))
    with psycopg.connect(**app_conninfo(), row_factory=dict_row) as first_conn, connect() as second_conn:
        assert service.ingest(first_conn, [low], {}) == ["created"]  # its transaction holds `low`

        def second_request() -> list[service.Outcome]:
            with second_conn.transaction():
                return service.ingest(second_conn, [high, low], {})

        thread, result = in_thread(second_request)
        wait_until_blocked(admin_db, second_conn)
        # Had the second request taken `high` before waiting for `low`, this would be a deadlock.
        assert service.ingest(first_conn, [high], {}) == ["created"]
        first_conn.commit()
        thread.join(timeout=10)
    assert result == [["duplicate", "duplicate"]]
    assert rows_of(admin_db, [low, high]) == (2, 2, 2)


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
