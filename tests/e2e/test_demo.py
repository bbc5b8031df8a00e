"""`make demo` and `make status` run for real against the deployed stack: scripts/demo.py and status.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import DictRow

ROOT = Path(__file__).resolve().parents[2]
CONVERTIBLE = ("USD->EUR", "GBP->JPY", "EUR->BHD", "USD->KRW")


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_demo_takes_every_job_to_a_final_status(admin_db: psycopg.Connection[DictRow]) -> None:
    result = run_script("demo.py", "--timeout", "10")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout

    posted = re.findall(r"^  201  job ([0-9a-f]{8})… (\w{3}->\w{3}) ", out, re.M)
    assert [pair for _, pair in posted] == [*CONVERTIBLE, "USD->MXN"]
    for short_id, pair in posted:
        expected = "failed: no exchange rate for USD->MXN" if pair == "USD->MXN" else "completed: "
        assert re.search(rf"^ +\+\d+ ms  job {short_id}… {pair} {expected}", out, re.M), (short_id, out)
    assert "result: 4 completed, 1 failed (USD->MXN)" in out

    # What the demo printed is what Postgres holds for its client.
    client = re.search(r"for client (demo-[0-9a-f]{12})", out)
    assert client is not None, out
    rows = admin_db.execute(
        "SELECT source_currency || '->' || target_currency AS pair, status FROM conversion_jobs"
        " WHERE client_id = %s",
        (client.group(1),),
    ).fetchall()
    assert sorted((row["pair"], row["status"]) for row in rows) == sorted(
        [*((pair, "completed") for pair in CONVERTIBLE), ("USD->MXN", "failed")]
    )


def test_status_prints_every_section(outputs: dict[str, Any]) -> None:
    result = run_script("status.py")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for heading in ("jobs by status", "outbox", "car events", "queues"):
        assert re.search(rf"^{heading}\b", out, re.M), (heading, out)
    for status in ("queued", "completed", "failed", "total"):
        assert re.search(rf"^  {status} +\d+$", out, re.M), (status, out)
    assert "processing" not in out, "no job is ever processing (migration 0004)"
    for label in ("backlog (unpublished, not parked)", "parked", "published", "oldest row in the backlog"):
        assert f"  {label}" in out
    for label in ("events received", "cars in the projection"):
        assert re.search(rf"^  {label} +\d+$", out, re.M), (label, out)
    for url in (
        outputs["jobs_queue_url"],
        outputs["jobs_dlq_url"],
        outputs["car_events_queue_url"],
        outputs["car_events_dlq_url"],
    ):
        name = url.rsplit("/", 1)[-1]
        assert re.search(rf"^  {re.escape(name)} +\d+ +\d+$", out, re.M), (name, out)
