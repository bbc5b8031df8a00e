"""Claiming and publishing outbox rows: SKIP LOCKED, SQS batches, backoff, parking, retention."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from dispatcher import service
from dispatcher.service import DispatchSettings, OutboxMessage, PublishFailure, SqsPublisher
from integration.dispatch.support import (
    RecordingPublisher,
    drain,
    in_transaction_on,
    insert_rows,
    plenty_of_time,
)


def test_two_dispatchers_never_publish_the_same_row(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    ids = insert_rows(admin, 600)
    settings = DispatchSettings(batch_size=50)
    both_claimed = threading.Barrier(2)
    publishers = [RecordingPublisher(meet=both_claimed), RecordingPublisher(meet=both_claimed)]
    results: list[service.PassResult] = []

    def run(publisher: RecordingPublisher) -> None:
        results.append(drain(connect(), publisher, settings))

    threads = [threading.Thread(target=run, args=(p,)) for p in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    first, second = (set(p.sent) for p in publishers)
    assert first and second, "both dispatchers took part"
    assert not first & second, "no row was published by both"
    assert sorted(first | second) == ids
    assert sum(r.published for r in results) == 600
    unpublished = admin.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()
    assert unpublished == {"n": 0}


def test_failed_entries_back_off_then_park(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    good, bad = insert_rows(admin, 2)
    settings = DispatchSettings(batch_size=10, max_attempts=3, backoff_base_s=2, backoff_max_s=60)
    publisher = RecordingPublisher(fail={bad})
    conn = connect()

    def row() -> dict[str, Any]:
        found = admin.execute(
            "SELECT attempts, last_error, next_attempt_at - now() AS wait, parked_at"
            " FROM outbox WHERE outbox_id = %s",
            (bad,),
        ).fetchone()
        assert found is not None
        return found

    first = drain(conn, publisher, settings)
    assert (first.claimed, first.published, first.failed, first.parked) == (2, 1, 1, [])
    assert publisher.sent == [good]
    state = row()
    assert (state["attempts"], state["last_error"], state["parked_at"]) == (1, "Throttled: simulated", None)
    assert timedelta(seconds=1) < state["wait"] <= timedelta(seconds=2), "first retry after the base delay"
    assert drain(conn, publisher, settings).claimed == 0, "not due yet"

    admin.execute("UPDATE outbox SET next_attempt_at = now() WHERE outbox_id = %s", (bad,))
    drain(conn, publisher, settings)
    assert timedelta(seconds=3) < row()["wait"] <= timedelta(seconds=4), "the delay doubles"

    admin.execute("UPDATE outbox SET next_attempt_at = now() WHERE outbox_id = %s", (bad,))
    last = drain(conn, publisher, settings)
    assert last.parked == [bad]
    assert row()["attempts"] == 3
    assert row()["parked_at"] is not None
    admin.execute("UPDATE outbox SET next_attempt_at = now() WHERE outbox_id = %s", (bad,))
    assert drain(conn, publisher, settings).claimed == 0, "a parked row is never retried"
    assert admin.execute("SELECT count(*) AS n FROM outbox").fetchone() == {"n": 2}, "nor deleted"


def test_retention_deletes_only_old_published_rows(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    old, recent, pending = insert_rows(admin, 3)
    admin.execute("UPDATE outbox SET published_at = now() - interval '25 hours' WHERE outbox_id = %s", (old,))
    admin.execute(
        "UPDATE outbox SET published_at = now() - interval '1 hour' WHERE outbox_id = %s", (recent,)
    )
    admin.execute(
        "UPDATE outbox SET created_at = now() - interval '30 hours' WHERE outbox_id = %s", (pending,)
    )
    with connect() as conn, conn.transaction():
        assert service.purge_published(conn, retention_hours=24) == 1
    remaining = [r["outbox_id"] for r in admin.execute("SELECT outbox_id FROM outbox ORDER BY 1")]
    assert remaining == [recent, pending]


def test_sqs_publisher_sends_attributes_and_reports_failures(aws: Callable[[str], Any]) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"outbox-lab-test-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        publisher = SqsPublisher(sqs, {"conversion-jobs": url})
        messages = [
            OutboxMessage(
                i, "conversion-jobs", "conversion_job.created", {"n": i}, {"correlation_id": f"c-{i}"}
            )
            for i in range(1, 24)
        ]
        unroutable = OutboxMessage(99, "no-such-topic", "x", {}, {})
        # SQS refuses control characters: the entry comes back in the call's Failed list.
        refused = OutboxMessage(98, "conversion-jobs", "x", {}, {"correlation_id": "bad\x01id"})
        failures = publisher.publish([*messages, refused, unroutable])
        assert [f.outbox_id for f in failures] == [99, 98]
        assert failures[0].error == "no queue for topic 'no-such-topic'"
        assert failures[1].error.startswith("InvalidParameterValue"), failures[1].error
        received: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + 10
        while len(received) < 23 and time.monotonic() < deadline:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
            for message in batch.get("Messages", []):
                attributes = message["MessageAttributes"]
                received[int(attributes["outbox_id"]["StringValue"])] = attributes
        assert sorted(received) == list(range(1, 24))
        assert received[7]["topic"]["StringValue"] == "conversion-jobs"
        assert received[7]["event_type"]["StringValue"] == "conversion_job.created"
        assert received[7]["correlation_id"]["StringValue"] == "c-7"
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_whole_call_failure_fails_every_entry_of_the_call() -> None:
    class BrokenSqs:
        def send_message_batch(self, **_: Any) -> dict[str, Any]:
            raise ConnectionError("endpoint unreachable")

    publisher = SqsPublisher(BrokenSqs(), {"t": "http://queue"})
    failures = publisher.publish([OutboxMessage(i, "t", "e", {}, {}) for i in (1, 2)])
    assert [f.outbox_id for f in failures] == [1, 2]
    assert failures[0].error == "ConnectionError: endpoint unreachable"
    assert all(f.unreachable for f in failures)


def test_an_entry_the_broker_refused_is_not_an_unreachable_broker() -> None:
    class RefusingSqs:
        def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
            return {"Failed": [{"Id": kwargs["Entries"][0]["Id"], "Code": "InvalidMessageContents"}]}

    failures = SqsPublisher(RefusingSqs(), {"t": "http://queue"}).publish(
        [OutboxMessage(1, "t", "e", {}, {})]
    )
    assert [(f.outbox_id, f.unreachable) for f in failures] == [(1, False)]


@pytest.mark.parametrize("attempts_before", [0, 4, 30])
def test_an_unreachable_broker_spends_no_attempt_and_never_parks(
    admin: psycopg.Connection[DictRow],
    connect: Callable[[], psycopg.Connection[DictRow]],
    attempts_before: int,
) -> None:
    (row_id,) = insert_rows(admin, 1)
    admin.execute("UPDATE outbox SET attempts = %s WHERE outbox_id = %s", (attempts_before, row_id))
    settings = DispatchSettings(backoff_base_s=2, backoff_max_s=50)
    conn = connect()
    with conn.transaction():
        failure = PublishFailure(row_id, "EndpointConnectionError: down", unreachable=True)
        assert service._mark_failed(conn, [failure], settings) == []
    row = admin.execute(
        "SELECT attempts, parked_at, last_error, extract(epoch FROM next_attempt_at - now()) AS wait_s"
        " FROM outbox WHERE outbox_id = %s",
        (row_id,),
    ).fetchone()
    assert row is not None
    assert (row["attempts"], row["parked_at"], row["last_error"]) == (
        attempts_before,
        None,
        "EndpointConnectionError: down",
    )
    expected_wait_s = min(50, 2 * 2**attempts_before)  # the row's own step: the outage does not grow it
    assert expected_wait_s - 1 < row["wait_s"] <= expected_wait_s


def test_drain_stops_when_time_runs_short(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    insert_rows(admin, 50)
    settings = DispatchSettings(batch_size=10, time_reserve_ms=3000)
    conn = connect()
    result = service.drain(in_transaction_on(conn), RecordingPublisher(), settings, lambda: 2000)
    assert result.claimed == 10, "one pass, then the time reserve stops it"


@pytest.mark.parametrize("field", ["batch_size", "max_attempts", "backoff_base_s", "retention_hours"])
def test_settings_reject_non_positive_values(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be > 0"):
        DispatchSettings(**{field: 0})


def test_a_second_claimer_skips_the_first_ones_rows_without_waiting(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    ids = insert_rows(admin, 4)
    first, second = connect(), connect()
    # A claimer that waited on the first one's locks fails here instead of hanging the test.
    second.execute("SET lock_timeout = '2s'")
    with first.transaction():
        held = [m.outbox_id for m in service.claim(first, 2)]
        started = time.monotonic()
        with second.transaction():
            skipped_to = [m.outbox_id for m in service.claim(second, 10)]
        waited_s = time.monotonic() - started
    assert held == ids[:2]
    assert skipped_to == ids[2:], "the other rows, not the locked ones"
    assert waited_s < 1.0, f"the second claim waited {waited_s:.2f} s"


@pytest.mark.parametrize(
    ("attempts_before", "expected_wait_s"),
    [(0, 2), (1, 4), (2, 8), (3, 16), (4, 32), (5, 50), (12, 50)],  # doubling from 2 s, capped at 50 s
)
def test_backoff_doubles_per_attempt_up_to_the_cap(
    admin: psycopg.Connection[DictRow],
    connect: Callable[[], psycopg.Connection[DictRow]],
    attempts_before: int,
    expected_wait_s: int,
) -> None:
    (row_id,) = insert_rows(admin, 1)
    admin.execute("UPDATE outbox SET attempts = %s WHERE outbox_id = %s", (attempts_before, row_id))
    settings = DispatchSettings(max_attempts=20, backoff_base_s=2, backoff_max_s=50)
    conn = connect()
    with conn.transaction():
        assert service._mark_failed(conn, [PublishFailure(row_id, "Throttled: simulated")], settings) == []
    row = admin.execute(
        "SELECT attempts, extract(epoch FROM next_attempt_at - now()) AS wait_s FROM outbox"
        " WHERE outbox_id = %s",
        (row_id,),
    ).fetchone()
    assert row is not None
    assert row["attempts"] == attempts_before + 1
    assert expected_wait_s - 1 < row["wait_s"] <= expected_wait_s


@pytest.mark.parametrize(("attempts_before", "parked"), [(3, False), (4, True)])
def test_by_default_a_row_is_parked_at_its_fifth_failed_publish(
    admin: psycopg.Connection[DictRow],
    connect: Callable[[], psycopg.Connection[DictRow]],
    attempts_before: int,
    parked: bool,
) -> None:
    (row_id,) = insert_rows(admin, 1)
    admin.execute("UPDATE outbox SET attempts = %s WHERE outbox_id = %s", (attempts_before, row_id))
    conn = connect()
    with conn.transaction():
        result = service._mark_failed(conn, [PublishFailure(row_id, "e")], DispatchSettings())
    assert result == ([row_id] if parked else [])
    row = admin.execute("SELECT parked_at FROM outbox WHERE outbox_id = %s", (row_id,)).fetchone()
    assert row is not None
    assert (row["parked_at"] is not None) is parked


def test_drain_adds_up_its_passes_and_reports_each(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    ids = insert_rows(admin, 25)
    passes: list[service.PassResult] = []
    publisher = RecordingPublisher(fail={ids[3], ids[21]})
    settings = DispatchSettings(batch_size=10, max_attempts=1)
    conn = connect()
    total = service.drain(in_transaction_on(conn), publisher, settings, plenty_of_time, passes.append)
    assert [(p.claimed, p.published, p.failed) for p in passes] == [(10, 9, 1), (10, 10, 0), (5, 4, 1)]
    assert (total.claimed, total.published, total.failed, total.parked) == (25, 23, 2, [ids[3], ids[21]])


def test_drain_goes_on_while_exactly_the_reserve_is_left(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    insert_rows(admin, 25)
    settings = DispatchSettings(batch_size=10, time_reserve_ms=3000)
    result = service.drain(in_transaction_on(connect()), RecordingPublisher(), settings, lambda: 3000)
    assert result.claimed == 25
