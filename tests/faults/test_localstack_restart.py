"""LocalStack restarted mid-stream (its state is ephemeral): `make up apply` redeploys, and what was
committed in Postgres but never published goes out after the redeploy; nothing is lost.

Runs last in the suite (it redeploys the whole stack); the rows are held unpublished by refusing the
dispatcher's sends, then LocalStack goes away with them still in the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

import faultinject
import jobload
import labtools
from tests_support import poll

from .conftest import Delivered, lab


@pytest.mark.redeploys
def test_rows_committed_before_a_localstack_restart_are_published_after_the_redeploy(
    outputs: dict[str, Any],
    admin_db: psycopg.Connection[DictRow],
    sqs_proxy: faultinject.FaultProxy,
    delivered: Delivered,
    figure: Callable[[str, float], None],
) -> None:
    sqs_proxy.set_mode("refuse")
    posted = jobload.JobStream(
        outputs["jobs_url"], clients=2, interval_s=0, limit=10, client_prefix="fault-ls"
    )
    job_ids = jobload.accepted(posted.start().wait(timeout=60))
    assert len(job_ids) == 10
    poll(
        lambda: len([s for s in sqs_proxy.sends if s.outcome == "refused"]) >= 1,
        timeout=30,
        what="a refused send",
    )
    waiting = admin_db.execute(
        "SELECT count(*) AS n FROM outbox WHERE aggregate_type = 'conversion_job' AND aggregate_id = ANY(%s)"
        " AND published_at IS NULL",
        (job_ids,),
    ).fetchone()
    assert waiting == {"n": 10}, "every row committed and none published before the restart"
    lab("stop-localstack")
    stopped_at = time.monotonic()
    figure("localstack restart: make up", lab("up"))
    figure("localstack restart: make apply (redeploy)", lab("apply"))
    report = delivered(job_ids, timeout=120)
    assert report.exactly_once, report
    figure("localstack restart: stopped -> every held job completed", time.monotonic() - stopped_at)
    assert labtools.outputs()["functions"]["dispatcher"] == outputs["functions"]["dispatcher"]
