"""End-to-end latency of the outbox loop, native mode: POST /jobs -> ... -> job completed.

Submits jobs one by one through the _user_request_ URL (each after the previous completed, so
every job meets an idle pipeline, as in a lab). Reports p50/p95 of the POST and of submit ->
completed (the job's completed_at in Postgres against the client's submit time; one clock).
Targets: completed p50 <= 150 ms, p95 <= 400 ms. Saves benchmarks/results/outbox_latency.json.
Usage: .lab/venv/bin/python benchmarks/outbox_latency.py [--jobs 200]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import labtools
from benchmarks import benchlib

CLIENT_PREFIX = "bench-latency-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for one job")
    args = parser.parse_args()
    outputs = labtools.outputs()
    session = requests.Session()
    post_ms: list[float] = []
    completed_ms: list[float] = []
    with psycopg.connect(**labtools.admin_conninfo(), autocommit=True) as db:
        for i in range(args.jobs + 5):  # the first five warm the API, dispatcher and worker
            body = {
                "client_id": f"{CLIENT_PREFIX}{uuid.uuid4().hex[:8]}",
                "source_currency": "USD",
                "target_currency": "EUR",
                "source_amount": "12.34",
            }
            submitted = time.time()
            with benchlib.Stopwatch() as clock:
                response = session.post(outputs["jobs_url"], json=body, timeout=10)
            if response.status_code != 201:
                sys.exit(f"bench: POST /jobs answered {response.status_code}: {response.text}")
            job_id = response.json()["job_id"]
            deadline = time.monotonic() + args.timeout
            while True:
                row = db.execute(
                    "SELECT extract(epoch FROM completed_at) FROM conversion_jobs"
                    " WHERE job_id = %s AND status = 'completed'",
                    (job_id,),
                ).fetchone()
                if row:
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"bench: job {job_id} not completed after {args.timeout:.0f} s")
                time.sleep(0.002)
            if i >= 5:
                post_ms.append(clock.ms)
                completed_ms.append((float(row[0]) - submitted) * 1000)
        benchlib.delete_bench_jobs(db, CLIENT_PREFIX)
    figures: dict[str, Any] = {
        "jobs": args.jobs,
        "post_ms": benchlib.quantiles(post_ms),
        "submit_to_completed_ms": benchlib.quantiles(completed_ms),
        "targets_ms": {"completed_p50": 150, "completed_p95": 400},
    }
    print(benchlib.write_results("outbox_latency", figures).read_text(), end="")


if __name__ == "__main__":
    main()
