"""Postgres stopped while jobs stream in: 503s fast while it is down, every accepted job completes,
and the first job completes seconds after it is back (not at the dispatch schedule's minute)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jobload
from tests_support import poll

from .conftest import Delivered, lab

FAST_S = 3.0  # a refused connection must not hang a request


def test_postgres_down_answers_503_fast_and_every_accepted_job_completes_after(
    outputs: dict[str, Any],
    delivered: Delivered,
    figure: Callable[[str, float], None],
) -> None:
    stream = jobload.JobStream(
        outputs["jobs_url"], clients=2, interval_s=0.1, client_prefix="fault-pg"
    ).start()
    stopped = False
    try:
        poll(lambda: len(jobload.accepted(stream.snapshot())) >= 5, timeout=30, what="jobs before the outage")
        lab("stop-postgres")
        stopped, down_at = True, time.monotonic()
        poll(
            lambda: sum(p.status == 503 and p.at > down_at for p in stream.snapshot()) >= 5,
            timeout=30,
            what="503 answers while Postgres is down",
        )
        lab("up")
        stopped, back_at, back_epoch = False, time.monotonic(), time.time()
        poll(
            lambda: sum(p.status == 201 and p.at > back_at for p in stream.snapshot()) >= 5,
            timeout=60,
            what="201 answers after Postgres is back",
        )
    finally:
        posted = stream.stop()
        if stopped:  # the lab stays whole for the next test, whatever happened here
            lab("up")
    unexpected = [p for p in posted if p.status not in (201, 503)]
    assert not unexpected, unexpected[:3]
    refused = [p for p in posted if p.status == 503]
    assert max(p.seconds for p in refused) < FAST_S, max(p.seconds for p in refused)
    assert all('"unavailable"' in (p.error or "") for p in refused), refused[0].error
    report = delivered(jobload.accepted(posted))
    assert report.exactly_once, report
    first_completed = min(t for t in report.completed_at.values() if t >= back_epoch)
    figure("postgres outage: back -> first job completed", first_completed - back_epoch)
    figure("postgres outage: slowest 503 while down", max(p.seconds for p in refused))
