"""Outbox relay throughput: 10,000 pre-inserted outbox rows drained to an SQS queue, three ways.

- dispatcher: the lab's dispatcher code (claim 100 with SKIP LOCKED, SendMessageBatch x10, mark),
  run in-process against a database of its own, so the deployed dispatcher cannot take the rows;
- naive relay: one row per transaction, one SendMessage per row;
- ceiling: a bare boto3 SendMessageBatch loop with the same bodies (the emulator's limit).
All in the same run, each into a fresh queue. Targets: dispatcher >= 5x naive, >= 80% of the ceiling.
Saves benchmarks/results/relay_throughput.json. Usage: .lab/venv/bin/python benchmarks/relay_throughput.py
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "lambdas")]
import labtools  # noqa: E402
import migrate  # noqa: E402
from benchmarks import benchlib  # noqa: E402
from dispatcher import service  # noqa: E402


@contextmanager
def scratch_queue(sqs: Any) -> Iterator[str]:
    url = str(sqs.create_queue(QueueName=f"outbox-lab-relay-bench-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    try:
        yield url
    finally:
        sqs.delete_queue(QueueUrl=url)


def fill(conn: psycopg.Connection[DictRow], rows: int) -> None:
    conn.execute("TRUNCATE outbox")
    conn.execute(
        "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type, payload, headers)"
        " SELECT 'conversion_job', gen_random_uuid()::text, 'conversion-jobs', 'conversion_job.created',"
        " jsonb_build_object('job_id', gen_random_uuid(), 'source_amount', '100.0000', 'n', i),"
        " jsonb_build_object('correlation_id', gen_random_uuid()) FROM generate_series(1, %s) AS i",
        (rows,),
    )


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def dispatcher_run(conn: psycopg.Connection[DictRow], sqs: Any, url: str, concurrency: int = 4) -> int:
    publisher = service.SqsPublisher(sqs, {"conversion-jobs": url}, concurrency=concurrency)
    settings = service.DispatchSettings()
    total = 0
    while True:
        with conn.transaction():
            result = service.dispatch_batch(conn, publisher, settings)
        if result.failed:
            raise SystemExit(f"bench: {result.failed} publishes failed")
        total += result.published
        if result.claimed < settings.batch_size:
            return total


def naive_run(conn: psycopg.Connection[DictRow], sqs: Any, url: str) -> int:
    total = 0
    while True:
        with conn.transaction():
            row = conn.execute(
                "SELECT outbox_id, payload FROM outbox WHERE published_at IS NULL"
                " ORDER BY outbox_id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:
                return total
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(row["payload"]))
            conn.execute("UPDATE outbox SET published_at = now() WHERE outbox_id = %s", (row["outbox_id"],))
        total += 1


def ceiling_run(entries: list[dict[str, Any]], sqs: Any, url: str) -> int:
    """One thread, one SendMessageBatch after another, entries prepared beforehand."""
    for start in range(0, len(entries), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=entries[start : start + 10])
    return len(entries)


def throughput(sent: int, clock: benchlib.Stopwatch) -> dict[str, float]:
    return {"messages": sent, "seconds": round(clock.seconds, 2), "per_s": round(sent / clock.seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    sqs = labtools.aws_client("sqs")
    figures: dict[str, Any] = {"rows": args.rows}
    with migrate.scratch_database("outbox_relay_bench") as name:
        conninfo = {**labtools.app_conninfo(), "dbname": name}
        with psycopg.connect(**conninfo, autocommit=True, row_factory=dict_row) as conn:
            admin = psycopg.connect(**labtools.admin_conninfo(name), autocommit=True, row_factory=dict_row)
            fill(admin, args.rows)
            # The ceiling sends exactly what the dispatcher sends: same bodies, same attributes.
            claimed = service.claim(admin, args.rows)  # autocommit: the lock ends at once
            entries = [
                {**entry, "Id": str(i % 10)} for i, entry in enumerate(map(service.sqs_entry, claimed))
            ]
            runs: list[tuple[str, Callable[[psycopg.Connection[DictRow], Any, str], int]]] = [
                ("dispatcher", dispatcher_run),
                # The same code sending one call at a time, like the ceiling loop.
                ("dispatcher_one_call_at_a_time", lambda c, q, u: dispatcher_run(c, q, u, concurrency=1)),
                ("naive_relay", naive_run),
            ]
            for label, run in runs:
                fill(admin, args.rows)
                with scratch_queue(sqs) as url:
                    with benchlib.Stopwatch() as clock:
                        sent = run(conn, sqs, url)
                    assert sent == args.rows and queue_depth(sqs, url) == args.rows, (label, sent)
                figures[label] = throughput(sent, clock)
            admin.close()
        with scratch_queue(sqs) as url:
            with benchlib.Stopwatch() as clock:
                sent = ceiling_run(entries, sqs, url)
            assert queue_depth(sqs, url) == args.rows
        figures["ceiling_send_message_batch"] = throughput(sent, clock)
    dispatcher = figures["dispatcher"]["per_s"]
    figures["dispatcher_vs_naive"] = round(dispatcher / figures["naive_relay"]["per_s"], 1)
    ceiling = figures["ceiling_send_message_batch"]["per_s"]
    figures["dispatcher_vs_ceiling"] = round(dispatcher / ceiling, 2)
    figures["dispatcher_one_call_at_a_time_vs_ceiling"] = round(
        figures["dispatcher_one_call_at_a_time"]["per_s"] / ceiling, 2
    )
    figures["targets"] = {"dispatcher_vs_naive": 5, "dispatcher_vs_ceiling": 0.8}
    print(benchlib.write_results("relay_throughput", figures).read_text(), end="")


if __name__ == "__main__":
    main()
