"""Prints the lab's state at a glance: jobs by status, the outbox backlog, the jobs queue and its DLQ.

Usage: .lab/venv/bin/python scripts/status.py (or `make status`). Needs `make up apply`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import DictRow

from lab.process import LabError
from labtools import admin_connect, deployed_outputs, queue_depth, queue_name, sqs

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

JOB_STATUSES = ("queued", "completed", "failed")  # the CHECK of migration 0004


def human_age(age: timedelta) -> str:
    seconds = age.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def print_status(conn: psycopg.Connection[DictRow], client: SQSClient, outputs: dict[str, Any]) -> None:
    counts = {
        row["status"]: row["jobs"]
        for row in conn.execute("SELECT status, count(*) AS jobs FROM conversion_jobs GROUP BY status")
    }
    print("jobs by status")
    for status in JOB_STATUSES:
        print(f"  {status:<12}{counts.get(status, 0):>10}")
    print(f"  {'total':<12}{sum(counts.values()):>10}")

    outbox = conn.execute(
        "SELECT count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS backlog,"
        " count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,"
        " count(*) FILTER (WHERE published_at IS NOT NULL) AS published,"
        " now() - min(created_at) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS oldest"
        " FROM outbox"
    ).fetchone()
    assert outbox is not None  # an aggregate always returns one row
    oldest = "none" if outbox["oldest"] is None else human_age(outbox["oldest"])
    print()
    print("outbox")
    print(f"  {'backlog (unpublished, not parked)':<36}{outbox['backlog']:>10}")
    print(f"  {'parked (out of attempts)':<36}{outbox['parked']:>10}")
    print(f"  {'published (not yet purged)':<36}{outbox['published']:>10}")
    print(f"  {'oldest row in the backlog':<36}{oldest:>10}")

    cars = conn.execute(
        "SELECT (SELECT count(*) FROM car_events) AS events, (SELECT count(*) FROM car_entities) AS projected"
    ).fetchone()
    assert cars is not None
    print()
    print("car events")
    print(f"  {'events received':<36}{cars['events']:>10}")
    print(f"  {'cars in the projection':<36}{cars['projected']:>10}")

    urls = ("jobs_queue_url", "jobs_dlq_url", "car_events_queue_url", "car_events_dlq_url")
    queues = {queue_name(outputs[url]): queue_depth(client, outputs[url]) for url in urls}
    width = max(len(name) for name in queues) + 2
    print()
    print(f"{'queues':<{width + 2}}{'visible':>10}{'in flight':>12}")
    for name, depth in queues.items():
        print(f"  {name:<{width}}{depth.visible:>10}{depth.in_flight:>12}")


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    try:
        outputs = deployed_outputs()
        with admin_connect() as conn:
            print_status(conn, sqs(), outputs)
    except LabError as exc:
        sys.exit(f"status: {exc}")
    except psycopg.Error as exc:
        sys.exit(f"status: query failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")


if __name__ == "__main__":
    main()
