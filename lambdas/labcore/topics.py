"""Outbox topic names: the one place they are spelled (the dispatcher checks Terraform's against them)."""

from __future__ import annotations

CONVERSION_JOBS = "conversion-jobs"

ALL = frozenset({CONVERSION_JOBS})
