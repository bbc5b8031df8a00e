"""The dispatcher nudge: rate-limited, sent off the request's path, never failing the request."""

from __future__ import annotations

import threading
import time
from typing import Any

from aws_lambda_powertools import Logger

from jobs_api.nudge import DispatcherNudge

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
    nudge = DispatcherNudge("outbox-lab-dispatcher", 1.0, lambda: client)
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
    nudge = DispatcherNudge("d", 1.0, lambda: client, clock=lambda: now[0])
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
    sent = DispatcherNudge("d", 0, lambda: failing)()
    assert sent is not None
    assert sent.result(timeout=10) is None
    assert len(failing.calls) == 1

    def no_client() -> Any:
        raise RuntimeError("no region")

    broken = DispatcherNudge("d", 0, no_client)()
    assert broken is not None
    assert broken.result(timeout=10) is None
