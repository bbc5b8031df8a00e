"""Conversion jobs under load, and the proof that each was applied exactly once.

Shared by the fault suite (tests/faults) and the soak benchmark: `JobStream` posts jobs from
several clients at a steady pace and records every answer; `delivery_report` reads Postgres and
the worker's log and says, per accepted job, whether it ended final, was published once without
parking, and had exactly one effect (one "completed"/"failed" outcome in the worker's log, any
other copies skipped as "duplicate" by its inbox).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests

PAIRS = [("USD", "EUR"), ("GBP", "JPY"), ("EUR", "BHD"), ("USD", "KRW"), ("CHF", "SEK")]
OPEN_LOOP_CLIENTS = 24  # enough connections that the schedule, not the clients, sets the pace
EFFECTS = ("completed", "failed")  # the outcomes that change a job; "duplicate", "already-final" do not


@dataclass(frozen=True)
class Posted:
    """One POST /jobs and its answer (status 0: no answer, e.g. connection refused)."""

    at: float  # time.monotonic() when it was sent (or due, under an open loop)
    seconds: float
    status: int
    job_id: str | None
    error: str | None = None
    sent_epoch: float = 0.0  # the same instant as `at`, in wall-clock time (to compare with Postgres')


def job_body(i: int, client_prefix: str) -> dict[str, str]:
    source, target = PAIRS[i % len(PAIRS)]
    return {
        "client_id": f"{client_prefix}-{uuid.uuid4().hex[:12]}",
        "source_currency": source,
        "target_currency": target,
        "source_amount": f"{i % 997 + 1}.25",
    }


def post_job(
    session: requests.Session,
    jobs_url: str,
    body: dict[str, str],
    timeout: float = 10,
    due: float | None = None,
    expected: int = 201,
) -> Posted:
    """POST one body; the time counts from `due` (an open loop's schedule) when given, else from now."""
    started = time.monotonic() if due is None else due
    epoch = time.time() - (time.monotonic() - started)
    try:
        response = session.post(jobs_url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        return Posted(started, time.monotonic() - started, 0, None, f"{type(exc).__name__}: {exc}", epoch)
    ok = response.status_code == expected
    job_id = response.json().get("job_id") if ok and expected == 201 else None
    error = None if ok else response.text[:300]
    return Posted(started, time.monotonic() - started, response.status_code, job_id, error, epoch)


def open_loop(url: str, rate: float, seconds: float, client_prefix: str, expected: int = 201) -> list[Posted]:
    """POST at a fixed rate for `seconds`, each request at its scheduled time whatever the earlier ones
    do (an open loop: a slow answer delays no later request, and its latency counts from its due time)."""
    count = max(1, round(rate * seconds))
    start = time.monotonic() + 0.2
    posted: list[Posted] = []
    lock = threading.Lock()
    counter = iter(range(count))

    def client() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                due = start + n / rate
                time.sleep(max(0.0, due - time.monotonic()))
                result = post_job(session, url, job_body(n, client_prefix), due=due, expected=expected)
                with lock:
                    posted.append(result)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(min(count, OPEN_LOOP_CLIENTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return posted


@dataclass
class JobStream:
    """`clients` threads, each posting a job every `interval_s` (or back to back at 0) until `stop()`
    or until `limit` jobs were sent in all."""

    jobs_url: str
    clients: int = 2
    interval_s: float = 0.05
    limit: int | None = None
    client_prefix: str = "fault"
    posted: list[Posted] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent = 0
        self._threads = [
            threading.Thread(target=self._run, name=f"job-client-{n}", daemon=True)
            for n in range(self.clients)
        ]

    def start(self) -> JobStream:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> list[Posted]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self.snapshot()

    def wait(self, timeout: float) -> list[Posted]:
        """Until every client is done (a `limit` was given), then the records."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return self.snapshot()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def snapshot(self) -> list[Posted]:
        with self._lock:
            return list(self.posted)

    def _next(self) -> int | None:
        with self._lock:
            if self.limit is not None and self._sent >= self.limit:
                return None
            self._sent += 1
            return self._sent

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set() and (n := self._next()) is not None:
                posted = post_job(session, self.jobs_url, job_body(n, self.client_prefix))
                with self._lock:
                    self.posted.append(posted)
                if self.interval_s:
                    self._stop.wait(max(0.0, self.interval_s - posted.seconds))


def accepted(posted: list[Posted]) -> list[str]:
    return [p.job_id for p in posted if p.status == 201 and p.job_id]


@dataclass(frozen=True)
class DeliveryReport:
    """Per accepted job: what Postgres and the worker's log say happened to it."""

    jobs: int
    final: int  # completed or failed
    published_once: int  # exactly one outbox row, published, never parked
    parked: int
    applied_once: int  # exactly one effect in the worker's log
    applied_twice: list[str]  # outbox ids with more than one effect
    duplicates_skipped: int  # copies the worker's inbox absorbed
    completed_at: dict[str, float]  # job id -> completed_at as epoch seconds

    @property
    def exactly_once(self) -> bool:
        return self.final == self.published_once == self.applied_once == self.jobs and not self.applied_twice


def database_state(conn: psycopg.Connection[Any], job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Job id -> its status, completion time, outbox id(s) and their state, in one query."""
    rows = conn.execute(
        "SELECT j.job_id::text AS job_id, j.status,"
        " extract(epoch FROM j.created_at)::float8 AS created_at,"
        " extract(epoch FROM j.completed_at)::float8 AS completed_at,"
        " extract(epoch FROM min(o.published_at))::float8 AS published_at,"
        " array_agg(o.outbox_id::text ORDER BY o.outbox_id) FILTER (WHERE o.outbox_id IS NOT NULL)"
        "   AS outbox_ids,"
        " count(o.outbox_id) FILTER (WHERE o.published_at IS NOT NULL) AS published,"
        " count(o.outbox_id) FILTER (WHERE o.parked_at IS NOT NULL) AS parked"
        " FROM conversion_jobs AS j LEFT JOIN outbox AS o"
        "   ON o.aggregate_type = 'conversion_job' AND o.aggregate_id = j.job_id::text"
        " WHERE j.job_id = ANY(%s::uuid[]) GROUP BY j.job_id",
        (job_ids,),
    ).fetchall()
    return {row["job_id"]: dict(row) for row in rows}


def all_final(conn: psycopg.Connection[Any], job_ids: list[str]) -> bool:
    row = conn.execute(
        "SELECT count(*) AS n FROM conversion_jobs"
        " WHERE job_id = ANY(%s::uuid[]) AND status IN ('completed', 'failed')",
        (job_ids,),
    ).fetchone()
    return bool(row and row["n"] == len(set(job_ids)))


def worker_log(logs_client: Any, worker_function: str, since_ms: int, pattern: str) -> list[dict[str, Any]]:
    """The worker's JSON log records matching a CloudWatch filter pattern since `since_ms`, oldest
    first, every page of them."""
    pages = logs_client.get_paginator("filter_log_events").paginate(
        logGroupName=f"/aws/lambda/{worker_function}", startTime=since_ms, filterPattern=pattern
    )
    records = []
    for event in sorted((e for page in pages for e in page["events"]), key=lambda e: e["timestamp"]):
        try:
            records.append(json.loads(event["message"]))
        except ValueError:  # the runtime's own lines (START, REPORT) are not JSON
            continue
    return records


def worker_outcomes(logs_client: Any, worker_function: str, since_ms: int) -> dict[str, Counter[str]]:
    """Outbox id -> count of each outcome the worker logged ("message applied") since `since_ms`."""
    outcomes: dict[str, Counter[str]] = {}
    for record in worker_log(logs_client, worker_function, since_ms, '"message applied"'):
        if record.get("message") == "message applied":
            outcomes.setdefault(str(record.get("message_key")), Counter())[str(record.get("outcome"))] += 1
    return outcomes


def wait_final(conn: psycopg.Connection[Any], job_ids: list[str], timeout: float) -> bool:
    """Whether every job became final within `timeout` seconds (the benchmarks' wait; tests poll)."""
    deadline = time.monotonic() + timeout
    while not all_final(conn, job_ids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True


def delivery_report(
    conn: psycopg.Connection[Any], job_ids: list[str], outcomes: dict[str, Counter[str]]
) -> DeliveryReport:
    state = database_state(conn, job_ids)
    final = published_once = parked = applied_once = skipped = 0
    twice: list[str] = []
    for job in state.values():
        final += job["status"] in EFFECTS
        parked += job["parked"]
        ids = job["outbox_ids"] or []
        if len(ids) == 1 and job["published"] == 1 and job["parked"] == 0:
            published_once += 1
        for outbox_id in ids:
            seen = outcomes.get(outbox_id, Counter())
            effects = sum(seen[outcome] for outcome in EFFECTS)
            applied_once += effects == 1
            if effects > 1:
                twice.append(outbox_id)
            skipped += seen["duplicate"] + seen["already-final"]
    return DeliveryReport(
        jobs=len(set(job_ids)),
        final=final,
        published_once=published_once,
        parked=parked,
        applied_once=applied_once,
        applied_twice=twice,
        duplicates_skipped=skipped,
        completed_at={job_id: job["completed_at"] for job_id, job in state.items() if job["completed_at"]},
    )
