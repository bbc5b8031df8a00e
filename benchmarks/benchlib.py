"""Shared by the benchmarks: a stopwatch, percentile summaries, bench-row cleanup and the results files."""

from __future__ import annotations

import io
import json
import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg

import labtools

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"


class Stopwatch:
    """Wall-clock time of a `with` block, on the monotonic performance counter."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.seconds = time.perf_counter() - self._started

    @property
    def ms(self) -> float:
        return self.seconds * 1000


def quantiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of the samples, rounded to 0.1, with their count.

    The quantiles of a small sample are extrapolated past its largest value: capped at it.
    """
    cut, top = statistics.quantiles(samples, n=100), max(samples)
    return {
        "p50": round(min(cut[49], top), 1),
        "p95": round(min(cut[94], top), 1),
        "p99": round(min(cut[98], top), 1),
        "max": round(top, 1),
        "n": len(samples),
    }


def utc_timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json atomically, `measured_at` first, and return its path.

    A `measured_at` in the figures wins over the time of writing.
    """
    path = RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"measured_at": utc_timestamp(), **figures}
    # Written beside the target and renamed over it: a reader never sees half a file.
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{name}.", suffix=".tmp", delete=False
    ) as f:
        f.write(json.dumps(document, indent=2) + "\n")
    os.replace(f.name, path)
    return path


def delete_bench_jobs(conn: psycopg.Connection[Any], client_prefix: str) -> None:
    """Remove the jobs (and their outbox rows) a benchmark created under its client id prefix."""
    pattern = f"{client_prefix}%"
    conn.execute("DELETE FROM outbox WHERE payload->>'client_id' LIKE %s", (pattern,))
    conn.execute("DELETE FROM conversion_jobs WHERE client_id LIKE %s", (pattern,))


def zip_of(source: str, base: bytes | None = None) -> bytes:
    """A zip of `bench.py`, added to the files of the zip `base` when given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if base is not None:
            with zipfile.ZipFile(io.BytesIO(base)) as original:
                for info in original.infolist():
                    archive.writestr(info, original.read(info))
        archive.writestr("bench.py", source)
    return buffer.getvalue()


@contextmanager
def bench_function(
    name: str, source: str, role: str, base_zip: bytes | None = None, **extra: Any
) -> Iterator[str]:
    """A function of one file `bench.py` (handler `bench.handler`), deleted afterwards; yields its ARN.

    With base_zip, `bench.py` is added to that zip's files (e.g. a deployed function's dependencies)."""
    lambda_ = labtools.aws_client("lambda")
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="bench.handler",
        Code={"ZipFile": zip_of(source, base_zip)},
        Timeout=30,
        MemorySize=256,
        **extra,
    )
    lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    try:
        yield lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    finally:
        lambda_.delete_function(FunctionName=name)
