"""The jobs API nudges the dispatcher after a new job: asynchronously, once per interval, never failing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from jobs_api import handler as jobs_handler
from tests_support import api_event, lambda_context

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


@pytest.fixture
def lambda_client(monkeypatch: pytest.MonkeyPatch) -> RecordingLambda:
    client = RecordingLambda()
    monkeypatch.setattr(jobs_handler, "_lambda_client", lambda: client)
    monkeypatch.setattr(jobs_handler, "_last_nudge", -float("inf"))
    monkeypatch.setenv("DISPATCHER_FUNCTION", "outbox-lab-dispatcher")
    return client


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


def test_a_new_job_invokes_the_dispatcher_asynchronously_once_per_interval(
    lambda_client: RecordingLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_handler, "NUDGE_INTERVAL_S", 3600.0)
    assert [post(), post()] == [201, 201]
    assert lambda_client.invocations == [
        {
            "FunctionName": "outbox-lab-dispatcher",
            "InvocationType": "Event",
            "Payload": b'{"source": "jobs-api"}',
        }
    ], "the second job within the interval reaches the dispatcher through NOTIFY"
    assert json.loads(lambda_client.invocations[0]["Payload"]) == {"source": "jobs-api"}


def test_every_new_job_nudges_once_the_interval_has_passed(
    lambda_client: RecordingLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_handler, "NUDGE_INTERVAL_S", 0.0)
    assert [post(), post()] == [201, 201]
    assert len(lambda_client.invocations) == 2


def test_a_replay_does_not_nudge(lambda_client: RecordingLambda, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_handler, "NUDGE_INTERVAL_S", 0.0)
    key = uuid.uuid4().hex
    assert [post(key), post(key)] == [201, 200]
    assert len(lambda_client.invocations) == 1


def test_without_a_dispatcher_configured_nothing_is_invoked(
    lambda_client: RecordingLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_FUNCTION")
    assert post() == 201
    assert lambda_client.invocations == []


def test_a_failed_nudge_is_logged_and_the_job_still_accepted(
    lambda_client: RecordingLambda, caplog: pytest.LogCaptureFixture
) -> None:
    lambda_client.error = ConnectionError("lambda endpoint unreachable")
    assert post() == 201
    warnings = [r for r in caplog.records if r.getMessage() == "dispatcher nudge failed"]
    assert [(r.levelname, getattr(r, "error", None)) for r in warnings] == [
        ("WARNING", "ConnectionError: lambda endpoint unreachable")
    ]
