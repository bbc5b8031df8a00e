"""The projector's handler with a fake event: a failure stops the rest of its car's group, not others."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from projector_events import car_event, fifo_record
from tests_support import lambda_context


class FakeProjection:
    """Stands in for service.project: records what it was asked, fails the payloads marked "fail"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def project(self, conn: object, message_key: str, payload: dict[str, Any]) -> str:
        self.calls.append((message_key, payload))
        if payload.get("fail"):
            raise RuntimeError("statement timeout")
        return "applied"


@pytest.fixture
def projector(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, FakeProjection]]:
    """The handler module as on a cold start (settings from the environment), the database faked."""
    monkeypatch.setenv("DB_SECRET_ID", "arn:aws:secretsmanager:us-east-1:000000000000:secret:db")
    handler = importlib.import_module("projector.handler")
    fake = FakeProjection()

    def in_transaction(work: Callable[[object], str]) -> str:
        return work(object())

    monkeypatch.setattr(handler.db, "run_in_transaction", in_transaction)
    monkeypatch.setattr(handler.service, "project", fake.project)
    yield handler, fake


def run(handler: ModuleType, *records: dict[str, Any]) -> list[str]:
    response = handler.handler({"Records": list(records)}, lambda_context("projector"))
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_a_failed_record_fails_the_rest_of_its_group_and_no_other(
    projector: tuple[ModuleType, FakeProjection],
) -> None:
    handler, fake = projector
    a1, a2, a3 = (fifo_record({"n": n}, group="CAR-A", outbox_id=n) for n in (1, 3, 5))
    a2["body"] = '{"n": 3, "fail": true}'
    b1, b2 = (fifo_record({"n": n}, group="CAR-B", outbox_id=n) for n in (2, 4))
    c1 = fifo_record({"n": 6}, group="CAR-C", outbox_id=6)
    failed = run(handler, a1, b1, a2, b2, a3, c1)
    assert failed == [a2["messageId"], a3["messageId"]], "a3 comes back with a2, in order"
    assert [key for key, _ in fake.calls] == ["1", "2", "3", "4", "6"], "a3 was never projected"


def test_the_next_batch_of_a_warm_environment_projects_a_group_that_failed_before(
    projector: tuple[ModuleType, FakeProjection],
) -> None:
    handler, fake = projector
    failing = fifo_record({"n": 1, "fail": True}, group="CAR-A", outbox_id=1)
    other = fifo_record({"n": 2}, group="CAR-B", outbox_id=2)
    assert run(handler, failing, other) == [failing["messageId"]]
    retried = fifo_record({"n": 1}, group="CAR-A", outbox_id=1, receive_count=2)
    assert run(handler, retried) == []
    assert [key for key, _ in fake.calls] == ["1", "2", "1"]


def test_a_poison_message_stops_its_group_and_is_logged_with_context(
    projector: tuple[ModuleType, FakeProjection], caplog: pytest.LogCaptureFixture
) -> None:
    handler, fake = projector
    poison = fifo_record("{not json", group="CAR-A", outbox_id=10, receive_count=3)
    after = fifo_record(car_event("CAR-A"), group="CAR-A", outbox_id=11)
    other = fifo_record(car_event("CAR-B"), group="CAR-B", outbox_id=12)
    assert run(handler, poison, after, other) == [poison["messageId"], after["messageId"]]
    assert [key for key, _ in fake.calls] == ["12"]
    (failure,) = [r for r in caplog.records if r.getMessage() == "message failed"]
    context = {key: getattr(failure, key) for key in ("message_id", "message_key", "message_group_id")}
    assert context == {"message_id": poison["messageId"], "message_key": "10", "message_group_id": "CAR-A"}
    assert (failure.levelname, failure.receive_count) == ("ERROR", "3")  # type: ignore[attr-defined]
    assert failure.exc_info is not None and "body is not JSON" in str(failure.exc_info[1])


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null"])
def test_a_body_that_is_not_a_json_object_is_poison(
    projector: tuple[ModuleType, FakeProjection], caplog: pytest.LogCaptureFixture, body: str
) -> None:
    handler, fake = projector
    record = fifo_record(body, group="CAR-A", outbox_id=1)
    good = fifo_record(car_event("CAR-B"), group="CAR-B", outbox_id=2)
    assert run(handler, record, good) == [record["messageId"]]
    assert fake.calls and fake.calls[0][0] == "2"
    (failure,) = [r for r in caplog.records if r.getMessage() == "message failed"]
    assert failure.exc_info is not None and "is not a JSON object" in str(failure.exc_info[1])


def test_the_outbox_id_keys_the_message_else_its_message_id(
    projector: tuple[ModuleType, FakeProjection],
) -> None:
    handler, fake = projector
    keyed, unkeyed = fifo_record({"n": 1}, group="A", outbox_id=77), fifo_record({"n": 2}, group="B")
    assert run(handler, keyed, unkeyed) == []
    assert [key for key, _ in fake.calls] == ["77", unkeyed["messageId"]]
    assert [payload for _, payload in fake.calls] == [{"n": 1}, {"n": 2}]


def test_projected_records_are_logged_with_their_outcome_and_correlation_id(
    projector: tuple[ModuleType, FakeProjection], caplog: pytest.LogCaptureFixture
) -> None:
    handler, _ = projector
    assert run(handler, fifo_record({"n": 1}, group="CAR-9", outbox_id=5, correlation_id="corr-9")) == []
    (done,) = [r for r in caplog.records if r.getMessage() == "car event projected"]
    logged = {key: getattr(done, key) for key in ("message_key", "message_group_id", "outcome")}
    assert logged == {"message_key": "5", "message_group_id": "CAR-9", "outcome": "applied"}
    assert handler.logger.get_correlation_id() == "corr-9"


def test_a_batch_whose_every_record_fails_is_failed_whole(
    projector: tuple[ModuleType, FakeProjection],
) -> None:
    """powertools raises: the invocation fails and SQS makes the whole batch visible again, in order."""
    handler, _ = projector
    records = [fifo_record("{bad", group="CAR-A"), fifo_record("{bad", group="CAR-B")]
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        run(handler, *records)


def test_the_handler_fails_its_cold_start_without_database_settings() -> None:
    from unit.test_config import import_handler

    assert import_handler("projector", {"DB_SECRET_ID": "arn:secret:db"}).returncode == 0
    result = import_handler("projector", {})
    assert result.returncode != 0
    assert "DB_HOST, DB_USER, DB_PASSWORD, DB_NAME required" in result.stderr
