"""Dispatching to a FIFO queue: the car is the message group, the outbox id the deduplication id."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from dispatcher import service
from dispatcher.service import DispatchSettings, SqsPublisher
from integration.dispatch.support import drain

TOPIC = "car-events"


def insert_updates(conn: psycopg.Connection[DictRow], cars: list[str]) -> list[int]:
    """One outbox row per item, in order: the car is the row's aggregate."""
    ids = []
    for n, car in enumerate(cars):
        row = conn.execute(
            "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type, payload, headers)"
            " VALUES ('car', %s, %s, 'CarUpdated', %s, %s) RETURNING outbox_id",
            (car, TOPIC, Jsonb({"car": car, "n": n}), Jsonb({"correlation_id": f"c-{n}"})),
        ).fetchone()
        assert row is not None
        ids.append(row["outbox_id"])
    return ids


class FlakySqs:
    """A FIFO queue that refuses the entries it is told to; remembers the ids it accepted, in order."""

    def __init__(self, fail: set[int]) -> None:
        self.fail = {str(i) for i in fail}
        self.accepted: list[tuple[str, int]] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.accepted += [(e["MessageGroupId"], int(e["Id"])) for e in Entries if e["Id"] not in self.fail]
        return {"Failed": [{"Id": e["Id"], "Code": "Throttled"} for e in Entries if e["Id"] in self.fail]}


def test_claim_carries_the_aggregate_id(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    ids = insert_updates(admin, ["CAR-1", "CAR-2"])
    conn = connect()
    with conn.transaction():
        claimed = service.claim(conn, 10)
    assert [(m.outbox_id, m.aggregate_id) for m in claimed] == list(zip(ids, ["CAR-1", "CAR-2"], strict=True))


def test_a_failed_update_holds_the_later_ones_of_its_car_until_it_goes_out(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    a1, b1, a2, b2, a3 = insert_updates(admin, ["A", "B", "A", "B", "A"])
    settings = DispatchSettings(batch_size=10, backoff_base_s=2)
    sqs = FlakySqs(fail={a2})
    conn = connect()
    first = drain(conn, SqsPublisher(sqs, {TOPIC: "http://sqs/000000000000/cars.fifo"}), settings)
    assert (first.claimed, first.published, first.failed) == (5, 3, 2)
    assert sqs.accepted == [("A", a1), ("B", b1), ("B", b2)]
    rows = admin.execute(
        "SELECT outbox_id, attempts, last_error, published_at IS NOT NULL AS published,"
        " next_attempt_at > now() AS backing_off FROM outbox ORDER BY outbox_id"
    ).fetchall()
    assert [(r["outbox_id"], r["published"]) for r in rows] == [
        (a1, True),
        (b1, True),
        (a2, False),
        (b2, True),
        (a3, False),
    ]
    held = {r["outbox_id"]: r for r in rows}
    assert (held[a2]["attempts"], held[a2]["last_error"], held[a2]["backing_off"]) == (1, "Throttled:", True)
    assert (held[a3]["attempts"], held[a3]["last_error"], held[a3]["backing_off"]) == (
        1,
        f"held behind outbox id {a2}",
        True,
    )

    admin.execute("UPDATE outbox SET next_attempt_at = now() WHERE published_at IS NULL")
    sqs.fail = set()
    again = drain(conn, SqsPublisher(sqs, {TOPIC: "http://sqs/000000000000/cars.fifo"}), settings)
    assert (again.claimed, again.published) == (2, 2)
    assert [outbox_id for group, outbox_id in sqs.accepted if group == "A"] == [a1, a2, a3]


@pytest.fixture
def fifo_queue(aws: Callable[[str], Any]) -> Iterator[str]:
    sqs = aws("sqs")
    url = sqs.create_queue(
        QueueName=f"outbox-lab-test-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    yield str(url)
    sqs.delete_queue(QueueUrl=url)


def receive_until(sqs: Any, url: str, last_ids: set[int]) -> list[dict[str, Any]]:
    """Receive and delete (a FIFO group's next message waits for that) until `last_ids` all came."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while not last_ids <= {outbox_id(m) for m in received}:
        assert time.monotonic() < deadline, f"timed out waiting for {sorted(last_ids)}"
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        received += batch
        if batch:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
    return received


def outbox_id(message: dict[str, Any]) -> int:
    return int(message["MessageAttributes"]["outbox_id"]["StringValue"])


def test_a_fifo_queue_receives_each_cars_updates_in_order_and_once(
    admin: psycopg.Connection[DictRow],
    connect: Callable[[], psycopg.Connection[DictRow]],
    aws: Callable[[str], Any],
    fifo_queue: str,
) -> None:
    cars = ["CAR-A", "CAR-B", "CAR-A", "CAR-C", "CAR-A", "CAR-B"] * 3
    ids = insert_updates(admin, cars)
    sqs = aws("sqs")
    publisher = SqsPublisher(sqs, {TOPIC: fifo_queue})
    result = drain(connect(), publisher, DispatchSettings(batch_size=100))
    assert (result.claimed, result.published, result.failed) == (18, 18, 0)
    # The rows once more, as after a crash between publishing and the commit: SQS drops the copies.
    rows = admin.execute(
        "SELECT outbox_id, topic, event_type, payload, headers, aggregate_id FROM outbox ORDER BY outbox_id"
    ).fetchall()
    assert publisher.publish([service.OutboxMessage(**row) for row in rows[:5]]) == []
    # A last update of each car: in its group it comes after any copy that got through.
    markers = insert_updates(admin, ["CAR-A", "CAR-B", "CAR-C"])
    assert drain(connect(), publisher, DispatchSettings(batch_size=100)).published == 3

    received = receive_until(sqs, fifo_queue, set(markers))
    sent = dict(zip(ids + markers, [*cars, "CAR-A", "CAR-B", "CAR-C"], strict=True))  # outbox id -> car
    assert sorted(outbox_id(m) for m in received) == sorted(sent), "each outbox row once"
    for message in received:
        attributes = message["Attributes"]
        assert (attributes["MessageGroupId"], attributes["MessageDeduplicationId"]) == (
            sent[outbox_id(message)],
            str(outbox_id(message)),
        )
    for car in set(cars):
        order = [outbox_id(m) for m in received if m["Attributes"]["MessageGroupId"] == car]
        assert order == [i for i in sorted(sent) if sent[i] == car], f"{car} received out of order"
