"""The whole loop over real services: API -> Postgres outbox -> dispatcher -> SQS -> worker -> Postgres."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import psycopg
import requests
from psycopg.rows import DictRow

from tests_support import poll, redrive_jobs_dlq

PAIRS = [("USD", "EUR"), ("GBP", "JPY"), ("EUR", "BHD"), ("USD", "KRW"), ("CHF", "SEK")]


def post_job(jobs_url: str, source: str, target: str, amount: str) -> dict[str, Any]:
    body = {
        "client_id": f"flow-{uuid.uuid4().hex[:8]}",
        "source_currency": source,
        "target_currency": target,
        "source_amount": amount,
    }
    response = requests.post(jobs_url, json=body, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


def finished_jobs(admin_db: psycopg.Connection[DictRow], job_ids: list[str]) -> list[dict[str, Any]] | None:
    rows = admin_db.execute(
        "SELECT job_id::text, status, target_amount, rate, failure_reason FROM conversion_jobs"
        " WHERE job_id = ANY(%s::uuid[]) AND status IN ('completed', 'failed')",
        (job_ids,),
    ).fetchall()
    return rows if len(rows) == len(job_ids) else None


def test_every_posted_job_completes_once(
    outputs: dict[str, Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    def submit(i: int) -> dict[str, Any]:
        source, target = PAIRS[i % len(PAIRS)]
        return post_job(outputs["jobs_url"], source, target, f"{i + 1}.25")

    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = list(pool.map(submit, range(20)))
    ids = [job["job_id"] for job in jobs]
    rows = poll(lambda: finished_jobs(admin_db, ids), timeout=30, what="20 jobs to complete")
    by_id = {row["job_id"]: row for row in rows}
    for job in jobs:
        row = by_id[job["job_id"]]
        assert row["status"] == "completed", row
        quote = admin_db.execute(
            "SELECT r.rate, c.minor_units FROM exchange_rates r"
            " JOIN currencies c ON c.code = r.target_currency"
            " WHERE r.source_currency = %s AND r.target_currency = %s",
            (job["source_currency"], job["target_currency"]),
        ).fetchone()
        assert quote is not None
        expected = (Decimal(job["source_amount"]) * quote["rate"]).quantize(
            Decimal(1).scaleb(-quote["minor_units"]), rounding=ROUND_HALF_EVEN
        )
        assert (row["rate"], row["target_amount"]) == (quote["rate"], expected)
    inbox = admin_db.execute(
        "SELECT count(*) AS n FROM inbox JOIN outbox ON inbox.message_key = outbox.outbox_id::text"
        " WHERE outbox.aggregate_id = ANY(%s)",
        (ids,),
    ).fetchone()
    assert inbox == {"n": 20}, "each event recorded in the inbox"


def test_unknown_pair_ends_failed_with_a_reason(
    outputs: dict[str, Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    job = post_job(outputs["jobs_url"], "USD", "MXN", "10")
    rows = poll(
        lambda: finished_jobs(admin_db, [job["job_id"]]), timeout=30, what="the USD->MXN job to finish"
    )
    assert (rows[0]["status"], rows[0]["failure_reason"]) == ("failed", "no exchange rate for USD->MXN")
    read = requests.get(f"{outputs['jobs_url']}/{job['job_id']}", timeout=10).json()
    assert (read["status"], read["failure_reason"]) == ("failed", "no exchange rate for USD->MXN")


def test_poison_message_goes_to_the_dlq_while_valid_jobs_complete(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    sqs = aws("sqs")
    marker = f"poison-{uuid.uuid4()}"
    attributes = {"topic": {"DataType": "String", "StringValue": "conversion-jobs"}}
    poison = sqs.send_message(
        QueueUrl=outputs["jobs_queue_url"], MessageBody=marker, MessageAttributes=attributes
    )
    jobs = [post_job(outputs["jobs_url"], "USD", "EUR", "3") for _ in range(3)]
    poll(
        lambda: finished_jobs(admin_db, [j["job_id"] for j in jobs]),
        timeout=30,
        what="valid jobs beside the poison",
    )

    def in_dlq() -> dict[str, Any] | None:
        response = sqs.receive_message(
            QueueUrl=outputs["jobs_dlq_url"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=0,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return next((m for m in response.get("Messages", []) if m["MessageId"] == poison["MessageId"]), None)

    # maxReceiveCount deliveries, one visibility timeout apart, then the redrive to the DLQ.
    message = poll(in_dlq, timeout=90, interval=0.5, what="the poison message in the DLQ")
    assert message["Body"] == marker
    sqs.delete_message(QueueUrl=outputs["jobs_dlq_url"], ReceiptHandle=message["ReceiptHandle"])


def test_redrive_brings_a_fixed_message_back(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    # A job whose event once failed (the bug is fixed now): the event waits in the DLQ.
    job_id = str(uuid.uuid4())
    admin_db.execute(
        "INSERT INTO conversion_jobs (job_id, client_id, source_currency, target_currency, source_amount,"
        " request_hash) VALUES (%s, 'redrive-test', 'EUR', 'GBP', 40, 'manual')",
        (job_id,),
    )
    attributes = {
        "topic": {"DataType": "String", "StringValue": "conversion-jobs"},
        "outbox_id": {"DataType": "Number", "StringValue": str(uuid.uuid4().int % 10**15)},
    }
    aws("sqs").send_message(
        QueueUrl=outputs["jobs_dlq_url"],
        MessageBody=json.dumps({"job_id": job_id}),
        MessageAttributes=attributes,
    )
    assert redrive_jobs_dlq() >= 1
    rows = poll(lambda: finished_jobs(admin_db, [job_id]), timeout=30, what="the redriven job to complete")
    assert rows[0]["status"] == "completed"
    # 40 EUR x 0.8531741725 = 34.1269..., half-even to cents
    assert rows[0]["target_amount"] == Decimal("34.13")


def test_dispatcher_runs_every_minute(
    outputs: dict[str, Any], aws: Callable[[str], Any], admin_db: psycopg.Connection[DictRow]
) -> None:
    events = aws("events")
    rules = events.list_rule_names_by_target(
        TargetArn=aws("lambda").get_function(FunctionName=outputs["functions"]["dispatcher"])[
            "Configuration"
        ]["FunctionArn"]
    )["RuleNames"]
    assert len(rules) == 1
    assert events.describe_rule(Name=rules[0])["ScheduleExpression"] == "rate(1 minute)"
    # What the schedule sends: a scheduled run also deletes published rows past the retention.
    old = admin_db.execute(
        "INSERT INTO outbox (aggregate_type, aggregate_id, topic, event_type, payload, published_at)"
        " VALUES ('test', 'old', 'conversion-jobs', 'test', '{}', now() - interval '25 hours')"
        " RETURNING outbox_id"
    ).fetchone()
    assert old is not None
    stale, fresh = f"stale-{uuid.uuid4()}", f"fresh-{uuid.uuid4()}"
    admin_db.execute(
        "INSERT INTO inbox (consumer, message_key, received_at) VALUES"
        " ('e2e', %s, now() - interval '16 days'), ('e2e', %s, now() - interval '14 days')",
        (stale, fresh),
    )
    response = aws("lambda").invoke(
        FunctionName=outputs["functions"]["dispatcher"],
        Payload=json.dumps({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}).encode(),
    )
    counts = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, counts
    assert set(counts) == {"claimed", "published", "failed", "parked", "purged", "inbox_purged"}
    assert counts["purged"] >= 1
    gone = admin_db.execute("SELECT 1 FROM outbox WHERE outbox_id = %s", (old["outbox_id"],)).fetchone()
    assert gone is None
    assert counts["inbox_purged"] >= 1
    kept = admin_db.execute("SELECT message_key FROM inbox WHERE message_key = ANY(%s)", ([stale, fresh],))
    assert [row["message_key"] for row in kept] == [fresh], "only inbox rows past their retention go"
