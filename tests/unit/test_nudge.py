"""The dispatcher nudge: rate-limited, sent off the request's path, never failing the request."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from labcore.nudge import DispatcherNudge, lambda_client

logger = Logger()  # the function's logger: the nudge logs through its child


class SlowLambda:
    """An Invoke that blocks until released, recording what it was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.fail = fail

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.release.wait(timeout=10)
        self.calls.append(kwargs)
        if self.fail:
            raise ConnectionError("lambda endpoint unreachable")
        return {"StatusCode": 202}


def test_the_request_does_not_wait_for_the_invoke() -> None:
    client = SlowLambda()
    nudge = DispatcherNudge("outbox-lab-dispatcher", 1.0, "jobs-api", lambda: client)
    started = time.monotonic()
    sent = nudge()
    assert time.monotonic() - started < 0.5, "returned while the Invoke is still in flight"
    assert sent is not None and not sent.done()
    client.release.set()
    sent.result(timeout=10)
    assert client.calls == [
        {
            "FunctionName": "outbox-lab-dispatcher",
            "InvocationType": "Event",
            "Payload": b'{"source": "jobs-api"}',
        }
    ]


def test_at_most_one_nudge_per_interval() -> None:
    client = SlowLambda()
    client.release.set()
    now = [100.0]
    nudge = DispatcherNudge("d", 1.0, "jobs-api", lambda: client, clock=lambda: now[0])
    first, second = nudge(), nudge()
    assert first is not None and second is None
    now[0] += 0.99
    assert nudge() is None, "still within the interval"
    now[0] += 0.02
    third = nudge()
    assert third is not None
    first.result(timeout=10)
    third.result(timeout=10)
    assert len(client.calls) == 2


def test_a_failed_invoke_or_client_is_swallowed() -> None:
    failing = SlowLambda(fail=True)
    failing.release.set()
    sent = DispatcherNudge("d", 0, "jobs-api", lambda: failing)()
    assert sent is not None
    assert sent.result(timeout=10) is None
    assert len(failing.calls) == 1

    def no_client() -> Any:
        raise RuntimeError("no region")

    broken = DispatcherNudge("d", 0, "jobs-api", no_client)()
    assert broken is not None
    assert broken.result(timeout=10) is None


def test_the_nudge_client_gives_up_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most one retry, 1 s to connect, 2 s to read: a nudge never holds the environment for long."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = lambda_client()
    assert client.meta.service_model.service_name == "lambda"
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1, 2)
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}  # botocore counts the first


def test_a_missing_client_is_logged_at_init_and_each_nudge_says_why(caplog: pytest.LogCaptureFixture) -> None:
    def no_client() -> Any:
        raise ValueError("no region")

    nudge = DispatcherNudge("d", 0, "jobs-api", no_client)
    sent = nudge()
    assert sent is not None
    sent.result(timeout=10)
    warnings = [
        (r.getMessage(), getattr(r, "error", None)) for r in caplog.records if r.levelname == "WARNING"
    ]
    assert warnings == [
        ("no Lambda client for nudges", "ValueError: no region"),
        ("dispatcher nudge failed", "RuntimeError: no Lambda client (see the warning at init)"),
    ]


def test_invokes_run_one_at_a_time_on_the_nudge_thread() -> None:
    threads: list[str] = []

    class Recording:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            threads.append(threading.current_thread().name)
            return {"StatusCode": 202}

    nudge = DispatcherNudge("d", 0, "jobs-api", Recording)
    futures = [nudge() for _ in range(3)]
    for future in futures:
        assert future is not None
        future.result(timeout=10)
    assert len(set(threads)) == 1, "one worker thread: nudges never pile up in parallel"
    assert threads[0].startswith("nudge")
