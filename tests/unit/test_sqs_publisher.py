"""SqsPublisher with a recording client: entries, batches of ten per queue, and the Failed list."""

from __future__ import annotations

import json
import threading
from typing import Any

from dispatcher.service import OutboxMessage, SqsPublisher, sqs_entry


class RecordingSqs:
    """Answers SendMessageBatch like SQS, failing the entries whose Id it is told to."""

    def __init__(self, failed_ids: set[str] | None = None) -> None:
        self.failed_ids = failed_ids or set()
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            self.calls.append({"QueueUrl": QueueUrl, "Entries": Entries})
        failed = [
            {"Id": e["Id"], "Code": "Throttled", "Message": "slow down", "SenderFault": False}
            for e in Entries
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
