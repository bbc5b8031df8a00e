"""The highest rate the lab sustains with submit -> completed p95 under 400 ms, against the highest rate
the bare API sustains (POST to a trivial function behind the same REST API) in the same run.

Both are stepped up through the same rates under an open loop (each request at its scheduled time,
its latency counted from then, so a slow answer cannot hide by delaying the next request). A step
passes when every request answered as it should and its p95 stays under the target: for the bare
API the POST's own latency, for the lab the time from a job's scheduled POST to its `completed`.
Prints the figures and saves benchmarks/results/sustained_rate.json. Needs `make up apply`.
Usage: .lab/venv/bin/python benchmarks/sustained_rate.py [--step-seconds 15] [--rates 5,10,20,...]
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import jobload
import labtools
from benchmarks import benchlib
from benchmarks.jobs_api import NOOP_SOURCE, noop_route

CLIENT_PREFIX = "bench-rate-"
TARGET_P95_MS = 400.0
RATES = (5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 120, 150)


def step(url: str, rate: float, seconds: float, expected: int, db: Any | None) -> dict[str, Any]:
    """One open-loop step; with `db`, latency runs until each job is final (else the POST's own)."""
    posted = jobload.open_loop(url, rate, seconds, CLIENT_PREFIX, expected=expected)
    bad = [p for p in posted if p.status != expected]
    latencies = [p.seconds * 1000 for p in posted if p.status == expected]
    unfinished = 0
    if db is not None and not bad:
        job_ids = jobload.accepted(posted)
        jobload.wait_final(db, job_ids, 60)  # a job still unfinished fails the step below
        state = jobload.database_state(db, job_ids)
        sent = {p.job_id: p.sent_epoch for p in posted}
        done = [job for job in state.values() if job["completed_at"]]
        latencies = [(job["completed_at"] - sent[job["job_id"]]) * 1000 for job in done]
        unfinished = len(job_ids) - len(done)
        benchlib.delete_bench_jobs(db, CLIENT_PREFIX)
    summary: dict[str, Any] = benchlib.quantiles(latencies) if len(latencies) > 1 else {"p95": None}
    passed = not bad and not unfinished and summary["p95"] is not None and summary["p95"] < TARGET_P95_MS
    print(f"  {rate:>5} /s: p95 {summary['p95']} ms, {len(bad)} bad answers -> {'ok' if passed else 'over'}")
    return {
        "rate": rate,
        "passed": passed,
        "bad_answers": len(bad),
        "unfinished": unfinished,
        "latency_ms": summary,
    }


def highest(url: str, rates: list[float], seconds: float, expected: int, db: Any | None) -> dict[str, Any]:
    print("  warm-up (not counted):")
    step(url, rates[0], 5, expected, db)  # the functions' first environments start here, not in a step
    steps = []
    for rate in rates:
        steps.append(step(url, rate, seconds, expected, db))
        if not steps[-1]["passed"]:
            break
    sustained = max((s["rate"] for s in steps if s["passed"]), default=0)
    return {"sustained_per_s": sustained, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step-seconds", type=float, default=15)
    parser.add_argument("--rates", default=",".join(map(str, RATES)))
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    out = labtools.outputs()
    role = labtools.aws_client("lambda").get_function_configuration(
        FunctionName=out["functions"]["jobs_api"]
    )["Role"]
    suffix = uuid.uuid4().hex[:6]
    with (
        benchlib.bench_function(f"outbox-lab-bench-noop-{suffix}", NOOP_SOURCE, role) as noop_arn,
        noop_route(out["api_id"], out["api_stage"], noop_arn) as noop_url,
        psycopg.connect(**labtools.admin_conninfo(), autocommit=True, row_factory=dict_row) as db,
    ):
        # The lab first: the bare API's overload step starts a burst of new environments, whose
        # cold starts would still be eating the two cores during the lab's first steps.
        print("the lab (POST /jobs), p95 of submit -> completed:")
        lab = highest(out["jobs_url"], rates, args.step_seconds, 201, db)
        print("bare API (POST of a trivial function), p95 of the POST:")
        bare = highest(noop_url, rates, args.step_seconds, 200, None)
    figures = {
        "target_p95_ms": TARGET_P95_MS,
        "step_seconds": args.step_seconds,
        "lab": lab,
        "bare_api": bare,
        "lab_over_bare": round(lab["sustained_per_s"] / bare["sustained_per_s"], 2)
        if bare["sustained_per_s"]
        else None,
    }
    print(benchlib.write_results("sustained_rate", figures).read_text(), end="")


if __name__ == "__main__":
    main()
