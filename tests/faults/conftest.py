"""Fixtures of the fault suite: the lab's commands, the SQS fault proxy in front of the dispatcher,
and the recovery figures each fault measured (printed at the end and saved to .lab/faults.json, or
LAB_FAULT_FIGURES; benchmarks/fault_recovery.py keeps them in benchmarks/results).

The suite drives the deployed native lab (`make up apply`) and leaves it deployed and healthy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

import faultinject
import jobload
import labtools
from tests_support import admin_conninfo, poll

ROOT = Path(__file__).resolve().parents[2]
FIGURES: dict[str, float] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redeploys: restarts LocalStack and redeploys the lab (runs last)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that redeploys runs after every other: the API's id (in its URLs) changes with it."""
    items.sort(key=lambda item: item.get_closest_marker("redeploys") is not None)


def lab(*args: str, timeout: float = 600) -> float:
    """Run `scripts/lab <args>` (what `make` runs) and return how long it took."""
    started = time.monotonic()
    subprocess.run(
        [os.environ.get("PYTHON", "python3"), str(ROOT / "scripts" / "lab"), *args],
        cwd=ROOT,
        check=True,
        timeout=timeout,
        stdout=sys.stderr,  # visible with -s, and in the failure report otherwise
    )
    return time.monotonic() - started


@pytest.fixture
def figure() -> Callable[[str, float], None]:
    """Record a measured figure (seconds) under a name."""

    def record(name: str, seconds: float) -> None:
        FIGURES[name] = round(seconds, 3)

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("fault recovery figures (seconds)")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
        target = (
            os.environ.get("LAB_FAULT_FIGURES")
            or Path(os.environ.get("LAB_DIR", ROOT / ".lab")) / "faults.json"
        )
        Path(target).write_text(json.dumps(FIGURES, indent=2) + "\n")


@pytest.fixture
def since_ms() -> int:
    """Now, as CloudWatch Logs counts time: the worker's log is read from here on."""
    return int(time.time() * 1000) - 1000


@pytest.fixture
def sqs_proxy(outputs: dict[str, Any], aws: Callable[[str], Any]) -> Iterator[faultinject.FaultProxy]:
    """A fault proxy between the deployed dispatcher and SQS, passing everything until told otherwise."""
    proxy = faultinject.FaultProxy(labtools.endpoint()).start()
    try:
        with faultinject.sqs_through(proxy, outputs["functions"]["dispatcher"], aws("lambda")):
            yield proxy
    finally:
        proxy.stop()


Delivered = Callable[..., jobload.DeliveryReport]


@pytest.fixture
def delivered(outputs: dict[str, Any], aws: Callable[[str], Any], since_ms: int) -> Delivered:
    """Wait until every job is final and the worker has logged an effect for each, then report.

    Its own connection: the test's may have died with a Postgres outage.
    """

    def wait(job_ids: list[str], timeout: float = 90, copies: int = 1) -> jobload.DeliveryReport:
        assert job_ids, "no job was accepted: nothing to check"
        with psycopg.connect(**admin_conninfo(), autocommit=True, row_factory=dict_row) as db:
            poll(
                lambda: jobload.all_final(db, job_ids),
                timeout=timeout,
                what=f"{len(job_ids)} jobs to be final",
            )

            def logged() -> jobload.DeliveryReport | None:
                outcomes = jobload.worker_outcomes(aws("logs"), outputs["functions"]["worker"], since_ms)
                report = jobload.delivery_report(db, job_ids, outcomes)
                seen = sum(sum(counts.values()) for counts in outcomes.values())
                enough = report.applied_once + len(report.applied_twice) >= report.jobs
                return report if enough and seen >= copies * report.jobs else None

            return poll(logged, timeout=60, interval=1, what="the worker's log of every job")

    return wait
