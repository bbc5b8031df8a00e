"""SQS faults between the dispatcher and its queue: an outage, and every message sent twice."""

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

OUTAGE_S = 35.0


def refused_for(proxy: faultinject.FaultProxy) -> float:
    """Seconds from the first refused send to the last."""
    refused = [send.at for send in proxy.sends if send.outcome == "refused"]
    return refused[-1] - refused[0] if refused else 0.0


def attempts(admin_db: psycopg.Connection[DictRow], job_ids: list[str]) -> dict[str, int]:
    row = admin_db.execute(
        "SELECT coalesce(max(attempts), 0) AS most, count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,"
        " count(*) FILTER (WHERE published_at IS NULL) AS waiting"
        " FROM outbox WHERE aggregate_type = 'conversion_job' AND aggregate_id = ANY(%s)",
        (job_ids,),
    ).fetchone()
    assert row is not None
    return dict(row)


def test_an_sqs_outage_backs_rows_off_parks_none_and_publishes_all_after_it(
    outputs: dict[str, Any],
    admin_db: psycopg.Connection[DictRow],
    sqs_proxy: faultinject.FaultProxy,
    delivered: Delivered,
    figure: Callable[[str, float], None],
) -> None:
    stream = jobload.JobStream(
        outputs["jobs_url"], clients=2, interval_s=0.2, client_prefix="fault-sqs"
    ).start()
    try:
        poll(lambda: len(jobload.accepted(stream.snapshot())) >= 4, timeout=30, what="jobs before the outage")
        sqs_proxy.set_mode("refuse")
        # Longer than the 2 + 4 + 8 + 16 s of backoff after which a row the broker refused parks.
        poll(lambda: refused_for(sqs_proxy) >= OUTAGE_S, timeout=OUTAGE_S + 30, what=f"a {OUTAGE_S} s outage")
        during = attempts(admin_db, jobload.accepted(stream.snapshot()))
        assert during["parked"] == 0, during
        assert during["waiting"] > 0, during
        assert during["most"] == 0, "an unreachable broker spends no row's attempts"
        sqs_proxy.set_mode("pass")
        outage_over = time.time()
        in_outage = jobload.accepted(stream.snapshot())
        poll(lambda: jobload.all_final(admin_db, in_outage), timeout=60, what="the outage's jobs to complete")
    finally:
        posted = stream.stop()
    assert {p.status for p in posted} == {201}, "the API does not depend on SQS"
    refused = [send for send in sqs_proxy.sends if send.outcome == "refused"]
    assert refused, "the proxy refused no send: no outage happened"
    report = delivered(jobload.accepted(posted))
    assert report.exactly_once, report
    assert report.parked == 0
    state = jobload.database_state(admin_db, in_outage)
    last_published = max(job["published_at"] for job in state.values())
    last_completed = max(report.completed_at[job_id] for job_id in in_outage)
    figure("sqs outage (35 s): outage over -> every held row published", last_published - outage_over)
    figure("sqs outage (35 s): outage over -> its last job completed", last_completed - outage_over)
    figure("sqs outage (35 s): jobs accepted during the outage", float(len(in_outage)))


def test_every_message_sent_twice_still_gives_one_effect_per_job(
    outputs: dict[str, Any],
    aws: Callable[[str], Any],
    admin_db: psycopg.Connection[DictRow],
    sqs_proxy: faultinject.FaultProxy,
    since_ms: int,
    delivered: Delivered,
) -> None:
    sqs_proxy.set_mode("duplicate")
    posted = jobload.JobStream(
        outputs["jobs_url"], clients=2, interval_s=0, limit=20, client_prefix="fault-dup"
    )
    job_ids = jobload.accepted(posted.start().wait(timeout=60))
    assert len(job_ids) == 20
    report = delivered(job_ids, copies=2)
    assert report.exactly_once, report
    outbox_ids = [i for job in jobload.database_state(admin_db, job_ids).values() for i in job["outbox_ids"]]
    forwarded = sqs_proxy.forwarded_ids()
    assert [forwarded[i] for i in outbox_ids] == [2] * 20, "each row reached SQS twice"
    outcomes = jobload.worker_outcomes(aws("logs"), outputs["functions"]["worker"], since_ms)
    for outbox_id in outbox_ids:
        seen = outcomes[outbox_id]
        assert sum(seen[e] for e in jobload.EFFECTS) == 1 and seen["duplicate"] >= 1, (outbox_id, seen)
