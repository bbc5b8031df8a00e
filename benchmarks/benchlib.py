"""Shared by the benchmarks: quantiles of samples, and results written to benchmarks/results/<name>.json."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def quantiles(samples: Iterable[float]) -> dict[str, float]:
    """p50, p95 and p99 of the samples (and how many there were)."""
    values = sorted(samples)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1), "n": len(values)}


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Write the figures (with the time they were measured) to benchmarks/results/<name>.json."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **figures}
    path.write_text(json.dumps(stamped, indent=2) + "\n")
    return path
