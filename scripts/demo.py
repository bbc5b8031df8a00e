"""Runs the whole outbox flow against the deployed lab with real calls only, and prints a timeline.

POSTs five conversion jobs through the _user_request_ URL (four convertible pairs, and USD->MXN:
a real currency with no exchange rate, which the worker marks failed), shows their outbox rows and
the jobs queue, then polls GET /jobs/{job_id} until every job is completed or failed. Times are ms
since the first POST; Postgres timestamps are mapped onto this machine's clock.
Usage: .lab/venv/bin/python scripts/demo.py [--timeout 30] (or `make demo`). Needs `make up apply`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import requests
from psycopg.rows import DictRow

from lab.process import LabError
from labtools import admin_connect, deployed_outputs, queue_depth, queue_name, sqs

# (source, target, amount): targets with 2, 0, 3 and 0 minor units, then a pair with no rate.
JOBS = (
    ("USD", "EUR", "100.00"),
    ("GBP", "JPY", "250.00"),
    ("EUR", "BHD", "75.50"),
    ("USD", "KRW", "1234.56"),
    ("USD", "MXN", "50.00"),
)
FINAL = ("completed", "failed")
POLL_INTERVAL_S = 0.05


@dataclass
class Submitted:
    source: str
    target: str
    amount: str
    job_id: str
    sent_ms: float  # when its POST went out
    posted_ms: float  # when the 201 arrived
    final: dict[str, Any] | None = None  # the job as GET returned it once completed or failed

    @property
    def label(self) -> str:
        return f"job {self.job_id[:8]}… {self.source}->{self.target}"


class Clock:
    """Milliseconds since the first POST, for this machine's events and Postgres timestamps alike."""

    def __init__(self, conn: psycopg.Connection[DictRow]) -> None:
        self.db_offset_s = self._db_offset(conn)
        self.start = time.time()
        self.start_monotonic = time.monotonic()

    @staticmethod
    def _db_offset(conn: psycopg.Connection[DictRow]) -> float:
        """Postgres clock minus this machine's, from the fastest of a few round trips."""
        samples: list[tuple[float, float]] = []
        for _ in range(3):
            before = time.time()
            row = conn.execute("SELECT clock_timestamp() AS now").fetchone()
            after = time.time()
            assert row is not None
            samples.append((after - before, row["now"].timestamp() - (before + after) / 2))
        return min(samples)[1]

    def begin(self) -> None:
        self.start, self.start_monotonic = time.time(), time.monotonic()

    def now_ms(self) -> float:
        return (time.time() - self.start) * 1000

    def db_ms(self, stamp: datetime | str) -> float:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
        return (moment.timestamp() - self.db_offset_s - self.start) * 1000


def at(ms: float) -> str:
    return f"+{ms:.0f} ms"


def one_line(text: str, limit: int = 200) -> str:
    """A response body fit for a one-line diagnosis."""
    return " ".join(text.split())[:limit]


def post_jobs(session: requests.Session, jobs_url: str, client_id: str, clock: Clock) -> list[Submitted]:
    submitted: list[Submitted] = []
    for source, target, amount in JOBS:
        body = {
            "client_id": client_id,
            "source_currency": source,
            "target_currency": target,
            "source_amount": amount,
        }
        if not submitted:
            clock.begin()
        sent_ms = clock.now_ms()
        try:
            response = session.post(jobs_url, json=body, timeout=10)
        except requests.RequestException as exc:
            raise LabError(f"POST {jobs_url} failed ({type(exc).__name__}): is LocalStack up?") from exc
        if response.status_code != 201:
            raise LabError(
                f"POST /jobs {source}->{target} answered {response.status_code}: {one_line(response.text)}"
            )
        job = Submitted(source, target, amount, response.json()["job_id"], sent_ms, clock.now_ms())
        submitted.append(job)
        print(f"  201  {job.label} {amount}  in {job.posted_ms - sent_ms:.0f} ms")
    return submitted


def outbox_rows(conn: psycopg.Connection[DictRow], jobs: list[Submitted]) -> dict[str, dict[str, Any]]:
    """The outbox row of each job, by job id."""
    rows = conn.execute(
        "SELECT outbox_id, aggregate_id, event_type, published_at, parked_at, attempts, last_error"
        " FROM outbox WHERE aggregate_type = 'conversion_job' AND aggregate_id = ANY(%s)",
        ([job.job_id for job in jobs],),
    ).fetchall()
    return {row["aggregate_id"]: row for row in rows}


def print_outbox(rows: dict[str, dict[str, Any]], jobs: list[Submitted], clock: Clock) -> None:
    print(f"  {'outbox_id':>9}  {'event_type':<24}{'published_at':<14}{'attempts':>8}  job")
    for job in jobs:  # in POST order, which is outbox_id order
        row = rows.get(job.job_id)
        if row is None:
            print(f"  {'-':>9}  {'(no outbox row)':<24}{'':<14}{'':>8}  {job.label}")
            continue
        published = "not yet" if row["published_at"] is None else at(clock.db_ms(row["published_at"]))
        if row["parked_at"] is not None:
            published = "parked"
        print(
            f"  {row['outbox_id']:>9}  {row['event_type']:<24}{published:<14}{row['attempts']:>8}"
            f"  {job.label}"
        )


def print_queues(outputs: dict[str, Any]) -> None:
    client = sqs()
    for url in (outputs["jobs_queue_url"], outputs["jobs_dlq_url"]):
        depth = queue_depth(client, url)
        print(f"  {queue_name(url):<22}visible {depth.visible:<4}in flight {depth.in_flight}")


def poll_until_final(
    session: requests.Session, jobs_url: str, jobs: list[Submitted], clock: Clock, timeout: float
) -> int:
    """GET every job not yet final until all are or the deadline passes; returns the rounds made."""
    deadline = clock.start_monotonic + timeout
    rounds = 0
    while True:
        rounds += 1
        for job in (job for job in jobs if job.final is None):
            url = f"{jobs_url}/{job.job_id}"
            try:
                response = session.get(url, timeout=10)
            except requests.RequestException as exc:
                raise LabError(f"GET {url} failed ({type(exc).__name__}): is LocalStack up?") from exc
            if response.status_code != 200:
                raise LabError(
                    f"GET /jobs/{job.job_id} answered {response.status_code}: {one_line(response.text)}"
                )
            if response.json()["status"] in FINAL:
                job.final = response.json()
        if all(job.final is not None for job in jobs) or time.monotonic() >= deadline:
            return rounds
        time.sleep(POLL_INTERVAL_S)


def diagnose_timeout(
    conn: psycopg.Connection[DictRow], outputs: dict[str, Any], jobs: list[Submitted], timeout: float
) -> str:
    """One line: which jobs are stuck, and at which hop (dispatcher or worker) they stopped."""
    pending = [job for job in jobs if job.final is None]
    rows = outbox_rows(conn, pending)
    stuck = f"{len(pending)} of {len(jobs)} jobs not completed or failed after {timeout:g} s"
    stuck += f" ({', '.join(job.label for job in pending)})"
    parked = [row for row in rows.values() if row["parked_at"] is not None]
    unpublished = [row for row in rows.values() if row["published_at"] is None and row["parked_at"] is None]
    if parked:
        row = parked[0]
        return (
            f"{stuck}: outbox row {row['outbox_id']} parked after {row['attempts']} attempts:"
            f" {row['last_error']}"
        )
    if unpublished:
        ids = ", ".join(str(row["outbox_id"]) for row in unpublished)
        errors = {row["last_error"] for row in unpublished if row["last_error"]}
        why = f"publishing failed: {errors.pop()}" if errors else "the dispatcher has not run"
        logs = f"`make logs FUNCTION={outputs['functions']['dispatcher']}`"
        return f"{stuck}: outbox rows {ids} unpublished, {why} ({logs})"
    client = sqs()
    queue, dlq = queue_depth(client, outputs["jobs_queue_url"]), queue_depth(client, outputs["jobs_dlq_url"])
    logs = f"`make logs FUNCTION={outputs['functions']['worker']}`"
    return (
        f"{stuck}: published but not applied by the worker (jobs queue {queue.visible} visible,"
        f" {queue.in_flight} in flight; DLQ {dlq.visible}) ({logs})"
    )


def outcome(job: Submitted, minor_units: dict[str, int]) -> str:
    final = job.final or {}
    if final.get("status") == "failed":
        return f"failed: {final['failure_reason']}"
    amount = Decimal(final["target_amount"]).quantize(Decimal(1).scaleb(-minor_units.get(job.target, 4)))
    rate = format(Decimal(final["rate"]).normalize(), "f")
    return f"completed: {amount} {job.target} (rate {rate})"


def print_timeline(
    jobs: list[Submitted],
    rows: dict[str, dict[str, Any]],
    clock: Clock,
    minor_units: dict[str, int],
    done_ms: float,
) -> None:
    events: list[tuple[float, str]] = []
    for job in jobs:
        row = rows.get(job.job_id)
        outbox = f" (outbox row {row['outbox_id']})" if row else ""
        events.append((job.posted_ms, f"POST /jobs -> 201  {job.label} {job.amount}{outbox}"))
        if row and row["published_at"] is not None:
            events.append((clock.db_ms(row["published_at"]), f"outbox row {row['outbox_id']} published"))
        if job.final is not None:
            final_ms = clock.db_ms(job.final["completed_at"])
            events.append((final_ms, f"{job.label} {outcome(job, minor_units)}"))
    events.append((done_ms, f"GET /jobs/{{id}}: all {len(jobs)} jobs final"))
    width = max(len(at(ms)) for ms, _ in events)
    for ms, text in sorted(events, key=lambda event: event[0]):
        print(f"  {at(ms):>{width}}  {text}")


def run(timeout: float) -> None:
    outputs = deployed_outputs()
    jobs_url = str(outputs["jobs_url"])
    client_id = f"demo-{uuid.uuid4().hex[:12]}"
    with admin_connect() as conn, requests.Session() as session:
        minor_units = {
            row["code"]: row["minor_units"]
            for row in conn.execute("SELECT code, minor_units FROM currencies")
        }
        clock = Clock(conn)
        print(f"demo: {len(JOBS)} conversion jobs for client {client_id}")
        print(f"\nPOST {jobs_url}")
        jobs = post_jobs(session, jobs_url, client_id, clock)

        read_ms = clock.now_ms()
        rows = outbox_rows(conn, jobs)
        print(f"\noutbox rows of these jobs, read at {at(read_ms)} (published_at in ms since the first POST)")
        print_outbox(rows, jobs, clock)
        print(f"\njobs queue and its DLQ, read at {at(clock.now_ms())}")
        print_queues(outputs)

        print(
            f"\npolling GET /jobs/{{id}} every {POLL_INTERVAL_S * 1000:.0f} ms,"
            f" deadline {timeout:g} s after the first POST"
        )
        rounds = poll_until_final(session, jobs_url, jobs, clock, timeout)
        done_ms = clock.now_ms()
        if any(job.final is None for job in jobs):
            raise LabError(diagnose_timeout(conn, outputs, jobs, timeout))
        print(f"  every job final after {rounds} round(s), at {at(done_ms)}")

        print("\ntimeline (ms since the first POST; published and final times are Postgres timestamps)")
        print_timeline(jobs, outbox_rows(conn, jobs), clock, minor_units, done_ms)

    completed = [job for job in jobs if job.final and job.final["status"] == "completed"]
    failed = [job for job in jobs if job.final and job.final["status"] == "failed"]
    slowest = max(clock.db_ms(job.final["completed_at"]) - job.sent_ms for job in jobs if job.final)
    print(
        f"\nresult: {len(completed)} completed, {len(failed)} failed"
        f" ({', '.join(f'{job.source}->{job.target}' for job in failed) or 'none'});"
        f" slowest POST-to-final {slowest:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds from the first POST (default 30)"
    )
    args = parser.parse_args()
    try:
        run(args.timeout)
    except LabError as exc:
        sys.exit(f"demo: {exc}")
    except psycopg.Error as exc:
        sys.exit(f"demo: query failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
