"""Soak: 10,000 jobs from several concurrent clients through the deployed lab, with duplicates injected
and one dispatcher killed mid-batch; every job must end applied exactly once, none lost.

The dispatcher's SQS calls go through the fault proxy (scripts/faultinject.py) for the whole run:
for one stretch of jobs every send is forwarded twice (each of those messages is delivered twice),
and once, mid-run, the next send is held after reaching SQS while the dispatcher is SIGKILLed.
Reports the sustained end-to-end rate (jobs / first POST to last completion), submit -> completed
p50/p95/p99, and where the time goes per job: the API (POST round trip), the relay (the job's
commit to its outbox row's publish) and delivery (publish to completed: the queue and the worker).
Prints the figures and saves benchmarks/results/soak.json. Needs `make up apply` (native mode).
Usage: .lab/venv/bin/python benchmarks/soak.py [--jobs 10000] [--clients 4] [--rate JOBS_PER_S]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import faultinject
import jobload
import labtools
from benchmarks import benchlib

CLIENT_PREFIX = "soak-"


def inject(
    stream: jobload.JobStream, proxy: faultinject.FaultProxy, jobs: int, dispatcher: str
) -> dict[str, Any]:
    """Duplicates for the jobs between 20% and 30% of the run; one kill at 50%."""
    injected: dict[str, Any] = {}

    def accepted() -> int:
        return len(jobload.accepted(stream.snapshot()))

    def until(count: int) -> None:
        while accepted() < count and stream.running():
            time.sleep(0.05)

    until(jobs // 5)
    proxy.set_mode("duplicate")
    until(jobs * 3 // 10)
    proxy.set_mode("pass")
    until(jobs // 2)
    proxy.hold_next()
    if proxy.held.wait(timeout=60):
        injected["killed_pids"] = faultinject.kill_environments(dispatcher)
        injected["held_send_entries"] = len(next(s for s in proxy.sends if s.outcome == "held").ids)
    proxy.release()
    return injected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="jobs/s all clients together keep to (default: as fast as they can)",
    )
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    out = labtools.outputs()
    dispatcher, worker = out["functions"]["dispatcher"], out["functions"]["worker"]
    since_ms = int(time.time() * 1000) - 1000
    proxy = faultinject.FaultProxy(labtools.endpoint()).start()
    injected: dict[str, Any] = {}
    try:
        with faultinject.sqs_through(proxy, dispatcher, labtools.aws_client("lambda")):
            stream = jobload.JobStream(
                out["jobs_url"],
                clients=args.clients,
                interval_s=0,
                limit=args.jobs,
                client_prefix=CLIENT_PREFIX,
            )
            injector = threading.Thread(
                target=lambda: injected.update(inject(stream, proxy, args.jobs, dispatcher)), daemon=True
            )
            stream.start()
            injector.start()
            posted = stream.wait(timeout=args.timeout)
            injector.join(timeout=60)
            job_ids = jobload.accepted(posted)
            print(f"soak: {len(job_ids)} of {len(posted)} POSTs accepted; waiting for the jobs to be final")
            with psycopg.connect(**labtools.admin_conninfo(), autocommit=True, row_factory=dict_row) as db:
                jobload.wait_final(db, job_ids, args.timeout)  # whatever is not final counts as lost
                print("soak: reading the worker's log")
                outcomes = jobload.worker_outcomes(labtools.aws_client("logs"), worker, since_ms)
                report = jobload.delivery_report(db, job_ids, outcomes)
                state = jobload.database_state(db, job_ids)
                figures = summarise(posted, state, report, proxy, injected, args)
                benchlib.delete_bench_jobs(db, CLIENT_PREFIX)
    finally:
        proxy.stop()
    print(benchlib.write_results("soak", figures).read_text(), end="")
    if not (figures["exactly_once"] and figures["lost"] == 0):
        raise SystemExit("soak: some job was lost or applied twice (see the figures above)")


def summarise(
    posted: list[jobload.Posted],
    state: dict[str, dict[str, Any]],
    report: jobload.DeliveryReport,
    proxy: faultinject.FaultProxy,
    injected: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    sent = {p.job_id: p for p in posted if p.job_id}
    done = [job for job in state.values() if job["completed_at"]]
    first_sent = min(p.sent_epoch for p in posted)
    last_done = max(job["completed_at"] for job in done)
    ms = 1000.0
    end_to_end = [(job["completed_at"] - sent[job["job_id"]].sent_epoch) * ms for job in done]
    relay = [(job["published_at"] - job["created_at"]) * ms for job in done if job["published_at"]]
    delivery = [(job["completed_at"] - job["published_at"]) * ms for job in done if job["published_at"]]
    duplicated = sum(len(s.ids) for s in proxy.sends if s.outcome == "duplicated")
    return {
        "jobs": args.jobs,
        "clients": args.clients,
        "paced_rate_per_s": args.rate or None,
        "accepted": len(sent),
        "refused_posts": len(posted) - len(sent),
        "final": report.final,
        "lost": report.jobs - report.final,
        "exactly_once": report.exactly_once,
        "applied_twice": len(report.applied_twice),
        "parked": report.parked,
        "duplicates_injected": duplicated,
        "dispatcher_kills": len(injected.get("killed_pids", [])),
        "killed_batch_entries": injected.get("held_send_entries", 0),
        "duplicates_skipped_by_inbox": report.duplicates_skipped,
        "seconds": round(last_done - first_sent, 1),
        "sustained_jobs_per_s": round(len(done) / (last_done - first_sent), 1),
        "post_rate_per_s": round(
            len(posted) / (max(p.sent_epoch + p.seconds for p in posted) - first_sent), 1
        ),
        "submit_to_completed_ms": benchlib.quantiles(end_to_end),
        "api_ms": benchlib.quantiles([p.seconds * ms for p in sent.values()]),
        "relay_ms": benchlib.quantiles(relay),
        "delivery_ms": benchlib.quantiles(delivery),
    }


if __name__ == "__main__":
    main()
