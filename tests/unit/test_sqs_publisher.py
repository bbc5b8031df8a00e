"""SqsPublisher with a recording client: entries, batches of ten per queue, the Failed list, FIFO order."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from dispatcher.service import OutboxMessage, SqsPublisher, sqs_entry


class RecordingSqs:
    """Answers SendMessageBatch like SQS, failing the entries whose Id it is told to."""

    def __init__(self, failed_ids: set[str] | None = None) -> None:
        self.failed_ids = failed_ids or set()
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            self._record(QueueUrl, Entries)
        return self._answer(Entries)

    def _record(self, url: str, entries: list[dict[str, Any]]) -> int:
        """Under the lock: the call's number, its index in `calls`."""
        self.calls.append({"QueueUrl": url, "Entries": entries})
        return len(self.calls) - 1

    def _answer(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        failed = [
            {"Id": e["Id"], "Code": "Throttled", "Message": "slow down", "SenderFault": False}
            for e in entries
            if e["Id"] in self.failed_ids
        ]
        return {"Successful": [], "Failed": failed} if failed else {"Successful": []}


def message(outbox_id: int, topic: str = "jobs", correlation_id: str | None = "c") -> OutboxMessage:
    headers = {} if correlation_id is None else {"correlation_id": correlation_id}
    return OutboxMessage(outbox_id, topic, "job.created", {"id": outbox_id, "amount": "1.50"}, headers)


def test_an_entry_carries_the_payload_and_the_routing_attributes() -> None:
    entry = sqs_entry(message(7, correlation_id="corr-7"))
    assert entry == {
        "Id": "7",
        "MessageBody": json.dumps({"id": 7, "amount": "1.50"}),
        "MessageAttributes": {
            "topic": {"DataType": "String", "StringValue": "jobs"},
            "event_type": {"DataType": "String", "StringValue": "job.created"},
            "outbox_id": {"DataType": "Number", "StringValue": "7"},
            "correlation_id": {"DataType": "String", "StringValue": "corr-7"},
        },
    }


def test_a_missing_or_empty_correlation_id_is_sent_as_none() -> None:
    entries = [sqs_entry(message(1, correlation_id=None)), sqs_entry(message(2, correlation_id=""))]
    assert [e["MessageAttributes"]["correlation_id"]["StringValue"] for e in entries] == ["none", "none"]


def test_messages_go_ten_per_call_to_their_topics_queue() -> None:
    sqs = RecordingSqs()
    publisher = SqsPublisher(sqs, {"jobs": "url-jobs", "other": "url-other"}, concurrency=2)
    messages = [message(i) for i in range(1, 24)] + [message(100, topic="other")]
    assert publisher.publish(messages) == []
    sizes = sorted((call["QueueUrl"], len(call["Entries"])) for call in sqs.calls)
    assert sizes == [("url-jobs", 3), ("url-jobs", 10), ("url-jobs", 10), ("url-other", 1)]
    sent = sorted(
        int(e["Id"]) for call in sqs.calls if call["QueueUrl"] == "url-jobs" for e in call["Entries"]
    )
    assert sent == list(range(1, 24)), "each message once"


def test_failed_entries_and_unroutable_topics_come_back_as_failures() -> None:
    sqs = RecordingSqs(failed_ids={"2"})
    publisher = SqsPublisher(sqs, {"jobs": "url-jobs"})
    failures = publisher.publish([message(1), message(2), message(3, topic="nowhere")])
    assert [(f.outbox_id, f.error) for f in failures] == [
        (3, "no queue for topic 'nowhere'"),
        (2, "Throttled: slow down"),
    ]
    assert [len(call["Entries"]) for call in sqs.calls] == [2], "the unroutable message is never sent"


def test_a_failed_entry_without_a_message_is_reported_by_its_code() -> None:
    class Terse(RecordingSqs):
        def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in Entries]
            }

    failures = SqsPublisher(Terse(), {"jobs": "url-jobs"}).publish([message(5)])
    assert [(f.outbox_id, f.error) for f in failures] == [(5, "InternalError:")]


def test_a_row_that_cannot_become_a_message_fails_alone() -> None:
    """JSON null headers (a row inserted by hand): that row backs off, the others of its pass go out."""
    sqs = RecordingSqs()
    publisher = SqsPublisher(sqs, {"jobs": "url-jobs"})
    broken = OutboxMessage(2, "jobs", "job.created", {"id": 2}, None)  # type: ignore[arg-type]
    failures = publisher.publish([message(1), broken, message(3)])
    assert [(f.outbox_id, f.error.split(":")[0]) for f in failures] == [(2, "unpublishable row")]
    assert [e["Id"] for call in sqs.calls for e in call["Entries"]] == ["1", "3"]


# FIFO queues: the row's aggregate is the message group, its outbox id the deduplication id, and one
# pass keeps each group's order.


class FifoSqs(RecordingSqs):
    """Also records when each call starts and ends, to tell calls that were in flight together.

    With `together=n`, each call waits (at most 5 s) until n calls are in flight: calls sent
    concurrently are then surely in flight at the same time, and calls sent one after another fail
    the wait instead of passing by luck of timing.
    """

    def __init__(
        self, failed_ids: set[str] | None = None, raise_for: set[str] | None = None, together: int = 1
    ) -> None:
        super().__init__(failed_ids)
        self.raise_for = raise_for or set()
        self.events: list[tuple[str, int]] = []  # ("start" | "end", call number)
        self.meet = threading.Barrier(together) if together > 1 else None

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:  # the number and the start together: two calls never share a number
            number = self._record(QueueUrl, Entries)
            self.events.append(("start", number))
        response = self._answer(Entries)
        if self.meet is not None:
            self.meet.wait(timeout=5)
        with self.lock:
            self.events.append(("end", number))
        if self.raise_for & {e["Id"] for e in Entries}:
            raise ConnectionError("endpoint unreachable")
        return response

    def sent_ids(self) -> list[int]:
        return [int(e["Id"]) for call in self.calls for e in call["Entries"]]

    def overlapping(self) -> list[tuple[int, int]]:
        """Pairs of calls, by number, that were in flight at the same time."""
        in_flight: set[int] = set()
        pairs = []
        for kind, number in self.events:
            if kind == "start":
                pairs += [(other, number) for other in sorted(in_flight)]
                in_flight.add(number)
            else:
                in_flight.discard(number)
        return pairs


FIFO_URL = "http://sqs/000000000000/outbox-lab-car-events.fifo"


def car(outbox_id: int, car_id: str) -> OutboxMessage:
    return OutboxMessage(outbox_id, "cars", "CarUpdated", {"n": outbox_id}, {"correlation_id": "c"}, car_id)


def groups_of_calls(sqs: FifoSqs) -> list[list[tuple[str, int]]]:
    return [[(e["MessageGroupId"], int(e["Id"])) for e in call["Entries"]] for call in sqs.calls]


def test_a_fifo_entry_is_grouped_by_its_aggregate_and_deduplicated_by_its_outbox_id() -> None:
    entry = sqs_entry(car(41, "CAR-2024-001"), fifo=True)
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("CAR-2024-001", "41")
    assert entry["MessageAttributes"]["outbox_id"] == {"DataType": "Number", "StringValue": "41"}
    assert "MessageGroupId" not in sqs_entry(car(41, "CAR-2024-001"))


def test_only_queues_named_fifo_get_group_and_deduplication_ids() -> None:
    sqs = RecordingSqs()
    publisher = SqsPublisher(sqs, {"cars": FIFO_URL, "jobs": "http://sqs/000000000000/jobs-nofifo"})
    assert publisher.publish([car(1, "CAR-1"), OutboxMessage(2, "jobs", "j", {}, {}, "CAR-1")]) == []
    entries = {call["QueueUrl"]: call["Entries"][0] for call in sqs.calls}
    assert entries[FIFO_URL]["MessageGroupId"] == "CAR-1"
    assert "MessageGroupId" not in entries["http://sqs/000000000000/jobs-nofifo"]
    assert "MessageDeduplicationId" not in entries["http://sqs/000000000000/jobs-nofifo"]


def test_distinct_groups_still_go_ten_per_call() -> None:
    sqs = FifoSqs()
    messages = [car(i, f"CAR-{i}") for i in range(1, 24)]
    assert SqsPublisher(sqs, {"cars": FIFO_URL}).publish(messages) == []
    assert sorted(len(call["Entries"]) for call in sqs.calls) == [3, 10, 10]
    assert sorted(sqs.sent_ids()) == list(range(1, 24))


def test_a_groups_entries_go_out_in_outbox_order_one_call_at_a_time() -> None:
    sqs = FifoSqs()
    claimed = [car(9, "A"), car(2, "B"), car(5, "A"), car(1, "A"), car(7, "B"), car(3, "C")]
    assert SqsPublisher(sqs, {"cars": FIFO_URL}, concurrency=4).publish(claimed) == []
    calls = groups_of_calls(sqs)
    assert calls == [[("A", 1), ("B", 2), ("C", 3)], [("A", 5), ("B", 7)], [("A", 9)]]
    assert sqs.overlapping() == [], "a wave waits for the one before it"


def test_calls_of_one_wave_go_out_together_and_never_share_a_group() -> None:
    sqs = FifoSqs(together=3)  # each wave: 25 cars in calls of 10, 10 and 5
    messages = [car(i, f"CAR-{i % 25}") for i in range(50)]  # two updates of each of 25 cars
    assert SqsPublisher(sqs, {"cars": FIFO_URL}, concurrency=4).publish(messages) == []
    assert sorted(len(call["Entries"]) for call in sqs.calls[:3]) == [5, 10, 10]
    assert sqs.overlapping(), "the calls of a wave are concurrent"
    calls = groups_of_calls(sqs)
    for first, second in sqs.overlapping():
        shared = {g for g, _ in calls[first]} & {g for g, _ in calls[second]}
        assert not shared, f"calls {first} and {second} were in flight together with {shared}"
    for call in calls:
        assert len({g for g, _ in call}) == len(call), "no call carries a group twice"
    by_group: dict[str, list[int]] = {}
    for call in calls:
        for group, outbox_id in call:
            by_group.setdefault(group, []).append(outbox_id)
    assert all(ids == sorted(ids) for ids in by_group.values())


def test_after_a_failed_entry_the_rest_of_its_group_is_held_other_groups_go_on() -> None:
    sqs = FifoSqs(failed_ids={"4"})
    claimed = [car(1, "A"), car(2, "B"), car(4, "A"), car(5, "B"), car(7, "A"), car(9, "A")]
    failures = SqsPublisher(sqs, {"cars": FIFO_URL}).publish(claimed)
    assert [(f.outbox_id, f.error) for f in failures] == [
        (4, "Throttled: slow down"),
        (7, "held behind outbox id 4"),
        (9, "held behind outbox id 4"),
    ]
    assert sorted(sqs.sent_ids()) == [1, 2, 4, 5], "7 and 9 never reach SQS"


def test_a_whole_call_failure_holds_every_group_of_the_call() -> None:
    sqs = FifoSqs(raise_for={"1"})
    claimed = [car(1, "A"), car(2, "B"), car(3, "A"), car(4, "B"), car(5, "C")]
    failures = SqsPublisher(sqs, {"cars": FIFO_URL}).publish(claimed)
    assert [(f.outbox_id, f.error) for f in failures] == [
        (1, "ConnectionError: endpoint unreachable"),
        (2, "ConnectionError: endpoint unreachable"),
        (5, "ConnectionError: endpoint unreachable"),
        (3, "held behind outbox id 1"),
        (4, "held behind outbox id 2"),
    ]


def test_an_unpublishable_row_holds_its_group() -> None:
    sqs = FifoSqs()
    broken = OutboxMessage(2, "cars", "CarUpdated", {}, None, "A")  # type: ignore[arg-type]
    failures = SqsPublisher(sqs, {"cars": FIFO_URL}).publish([car(1, "A"), broken, car(3, "A"), car(4, "B")])
    assert [(f.outbox_id, f.error.split(":")[0]) for f in failures] == [
        (2, "unpublishable row"),
        (3, "held behind outbox id 2"),
    ]
    assert sorted(sqs.sent_ids()) == [1, 4]


@pytest.mark.parametrize("group", ["", "CAR 1", "CAR-\u00e9", "x" * 129])
def test_an_aggregate_id_sqs_would_refuse_as_a_group_fails_alone(group: str) -> None:
    sqs = FifoSqs()
    failures = SqsPublisher(sqs, {"cars": FIFO_URL}).publish([car(1, group), car(2, "B")])
    assert [f.outbox_id for f in failures] == [1]
    assert failures[0].error.startswith("unpublishable row: ValueError: aggregate_id"), failures[0].error
    assert sqs.sent_ids() == [2]


def test_the_longest_group_id_sqs_accepts_is_used_as_it_is() -> None:
    group = "!~" + "x" * 126
    assert sqs_entry(car(1, group), fifo=True)["MessageGroupId"] == group


class DownSqs(RecordingSqs):
    """SQS unreachable: every call raises, after being recorded."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            self._record(QueueUrl, Entries)
        raise ConnectionError("endpoint unreachable")


def test_after_a_call_fails_whole_the_pass_sends_no_more_calls() -> None:
    sqs = DownSqs()
    failures = SqsPublisher(sqs, {"jobs": "http://queue/jobs"}, concurrency=1).publish(
        [message(i) for i in range(1, 51)]
    )
    assert len(sqs.calls) == 1, "one failed call is enough to know"
    assert [f.outbox_id for f in failures] == list(range(1, 51))
    assert all(f.unreachable for f in failures)
    assert {f.error for f in failures[10:]} == {"not sent: SQS was unreachable earlier in this pass"}


def test_a_drain_stops_at_a_pass_that_found_sqs_unreachable() -> None:
    from dispatcher import service

    settings = service.DispatchSettings(batch_size=10)
    passes = [service.PassResult(claimed=10, failed=10, unreachable=10), service.PassResult(claimed=10)]
    totals = service.drain(lambda work: passes.pop(0), RecordingSqs(), settings, lambda: 60_000)  # type: ignore[arg-type]
    assert (totals.claimed, totals.unreachable, len(passes)) == (10, 10, 1)
