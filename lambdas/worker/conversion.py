"""Completing a conversion job: the rate, Decimal arithmetic, the target currency's minor units."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import DictRow


class UnknownJob(Exception):
    """The event names a job that does not exist: nothing can apply it, so it goes to the DLQ."""


def convert(amount: Decimal, rate: Decimal, minor_units: int) -> Decimal:
    """amount x rate, rounded half-even to the currency's minor units (JPY 0, USD 2, BHD 3)."""
    return (amount * rate).quantize(Decimal(1).scaleb(-minor_units), rounding=ROUND_HALF_EVEN)


def complete_job(conn: psycopg.Connection[DictRow], payload: dict[str, Any]) -> str:
    job_id = UUID(str(payload["job_id"]))
    job = conn.execute(
        "SELECT source_currency, target_currency, source_amount, status FROM conversion_jobs"
        " WHERE job_id = %s FOR UPDATE",
        (job_id,),
    ).fetchone()
    if job is None:
        raise UnknownJob(f"job {job_id} does not exist")
    if job["status"] in ("completed", "failed"):
        return "already-final"
    quote = conn.execute(
        "SELECT r.rate, c.minor_units FROM exchange_rates AS r"
        " JOIN currencies AS c ON c.code = r.target_currency"
        " WHERE r.source_currency = %s AND r.target_currency = %s",
        (job["source_currency"], job["target_currency"]),
    ).fetchone()
    if quote is None:  # a business outcome, not an error: the job fails, the message is done
        conn.execute(
            "UPDATE conversion_jobs SET status = 'failed', failure_reason = %s, completed_at = now(),"
            " updated_at = now() WHERE job_id = %s",
            (f"no exchange rate for {job['source_currency']}->{job['target_currency']}", job_id),
        )
        return "failed"
    target_amount = convert(job["source_amount"], quote["rate"], quote["minor_units"])
    conn.execute(
        "UPDATE conversion_jobs SET status = 'completed', rate = %s, target_amount = %s,"
        " completed_at = now(), updated_at = now() WHERE job_id = %s",
        (quote["rate"], target_amount, job_id),
    )
    return "completed"
