"""The jobs API nudges the dispatcher after a new job: asynchronously, once per interval, never failing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from jobs_api import handler as jobs_handler
from labcore.nudge import DispatcherNudge
from tests_support import api_event, lambda_context, poll

pytestmark = pytest.mark.usefixtures("app_environment")


class RecordingLambda:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        if self.error is not None:
            raise self.error
        return {"StatusCode": 202}


NudgeFactory = Callable[[float], RecordingLambda]


@pytest.fixture
def nudged(monkeypatch: pytest.MonkeyPatch) -> NudgeFactory:
    """The handler's nudge replaced by one with the given interval over a recording Lambda client."""

    def install(interval_s: float) -> RecordingLambda:
        client = RecordingLambda()
        nudge = DispatcherNudge("outbox-lab-dispatcher", interval_s, "jobs-api", make_client=lambda: client)
        monkeypatch.setattr(jobs_handler, "nudge", nudge)
        return client

    return install


def invocations(client: RecordingLambda, count: int) -> list[dict[str, Any]]:
    """The client's invocations once `count` have arrived (the Invoke runs on a background thread)."""
    return poll(lambda: client.invocations if len(client.invocations) >= count else None, what="nudges")


def post(key: str | None = None) -> int:
    body = {
        "client_id": "nudge-client",
        "source_currency": "USD",
        "target_currency": "EUR",
        "source_amount": "3",
        "idempotency_key": key or uuid.uuid4().hex,
    }
    event = api_event("POST", "/jobs", body, {"Content-Type": "application/json"})
    return int(jobs_handler.handler(event, lambda_context("jobs-api"))["statusCode"])


def test_a_new_job_invokes_the_dispatcher_asynchronously_once_per_interval(nudged: NudgeFactory) -> None:
    client = nudged(3600.0)
    assert [post(), post()] == [201, 201]
    assert invocations(client, 1) == [
        {
            "FunctionName": "outbox-lab-dispatcher",
            "InvocationType": "Event",
            "Payload": b'{"source": "jobs-api"}',
        }
    ], "the second job within the interval reaches the dispatcher through NOTIFY"


def test_every_new_job_nudges_once_the_interval_has_passed(nudged: NudgeFactory) -> None:
    client = nudged(0.0)
    assert [post(), post()] == [201, 201]
    assert len(invocations(client, 2)) == 2


def test_a_replay_does_not_nudge(nudged: NudgeFactory) -> None:
    client = nudged(0.0)
    key = uuid.uuid4().hex
    assert [post(key), post(key)] == [201, 200]
    assert len(invocations(client, 1)) == 1


def test_a_failed_nudge_is_logged_and_the_job_still_accepted(
    nudged: NudgeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    nudged(0.0).error = ConnectionError("lambda endpoint unreachable")
    assert post() == 201
    warnings = poll(
        lambda: [r for r in caplog.records if r.getMessage() == "dispatcher nudge failed"], what="the warning"
    )
    assert [(r.levelname, getattr(r, "error", None)) for r in warnings] == [
        ("WARNING", "ConnectionError: lambda endpoint unreachable")
    ]
