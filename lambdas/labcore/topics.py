"""Outbox topic names: the one place they are spelled (the dispatcher checks Terraform's against them)."""

from __future__ import annotations

CONVERSION_JOBS = "conversion-jobs"
CAR_EVENTS = "car-events"  # a FIFO queue: the outbox row's aggregate_id (the car) is its message group

ALL = frozenset({CONVERSION_JOBS, CAR_EVENTS})
