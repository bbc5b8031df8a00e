"""How a job's decimals reach JSON: positional notation always, never an exponent, never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jobs_api.models import Job


def job_row(**overrides: Any) -> dict[str, Any]:
    return {
        "job_id": "6f1c1b8e-1d6a-4c55-9a43-6f0d4f3f8f11",
        "client_id": "acme",
        "source_currency": "USD",
        "target_currency": "KRW",
        "source_amount": Decimal("1E+3"),
        "target_amount": Decimal("1.3455E+6"),
        "rate": Decimal("1E-7"),
        "status": "completed",
        "failure_reason": None,
        "idempotency_key": None,
        "created_at": "2026-11-22T01:00:00Z",
        "updated_at": "2026-11-22T01:00:01Z",
        "completed_at": "2026-11-22T01:00:01Z",
        **overrides,
    }


def test_decimals_with_exponents_are_written_out() -> None:
    body = Job.from_row(job_row()).to_json()
    assert (body["source_amount"], body["target_amount"], body["rate"]) == ("1000", "1345500", "0.0000001")


def test_job_shows_amounts_as_strings_at_their_scales() -> None:
    row = job_row(
        target_currency="JPY",
        source_amount=Decimal("100.25"),
        target_amount=Decimal("15180"),
        rate=Decimal("151.4200000000"),
    )
    body = Job.from_row(row).to_json()
    assert (body["source_amount"], body["target_amount"], body["rate"]) == (
        "100.25",
        "15180",
        "151.4200000000",
    )


def test_a_queued_job_has_null_target_and_rate() -> None:
    row = job_row(status="queued", target_amount=None, rate=None, completed_at=None)
    body = Job.from_row(row).to_json()
    assert (body["target_amount"], body["rate"], body["completed_at"]) == (None, None, None)
