"""The dispatcher killed between publishing and committing: the rows go out again, the worker's inbox
absorbs the copies, and every job has one effect."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import DictRow

import faultinject
import jobload
from tests_support import poll

from .conftest import Delivered


def test_a_dispatcher_killed_after_publishing_republishes_and_each_job_applies_once(
    outputs: dict[str, Any],
    aws: Callable[[str], Any],
    admin_db: psycopg.Connection[DictRow],
    sqs_proxy: faultinject.FaultProxy,
    since_ms: int,
    delivered: Delivered,
    figure: Callable[[str, float], None],
) -> None:
    dispatcher = outputs["functions"]["dispatcher"]
    sqs_proxy.hold_next()  # the next send reaches SQS; its answer never reaches the dispatcher
    stream = jobload.JobStream(
        outputs["jobs_url"], clients=2, interval_s=0.1, client_prefix="fault-kill"
    ).start()
    try:
        assert sqs_proxy.held.wait(timeout=30), "no dispatcher send reached the proxy"
        killed = faultinject.kill_environments(dispatcher)
        killed_at = time.time()
        sqs_proxy.release()
        assert killed, "no environment of the dispatcher was running"
        held = next(send for send in sqs_proxy.sends if send.outcome == "held")
        assert held.ids
        # The killed pass never committed: its rows are still unpublished, and go out again.
        poll(
            lambda: all(n >= 2 for n in map(sqs_proxy.forwarded_ids().__getitem__, held.ids)),
            timeout=60,
            what="the killed pass's rows to be published again",
        )
        republished_at = time.time()
    finally:
        posted = stream.stop()
    report = delivered(jobload.accepted(posted))
    assert report.exactly_once, report
    outcomes = jobload.worker_outcomes(aws("logs"), outputs["functions"]["worker"], since_ms)
    for outbox_id in held.ids:
        seen = outcomes[outbox_id]
        assert sum(seen[e] for e in jobload.EFFECTS) == 1, (outbox_id, seen)
        assert seen["duplicate"] + seen["already-final"] >= 1, (outbox_id, seen)
    figure("dispatcher killed mid-batch: kill -> its rows published again", republished_at - killed_at)
