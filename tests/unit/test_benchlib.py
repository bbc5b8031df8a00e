"""benchmarks/benchlib.py: the percentile summary and the results files every benchmark writes."""

from __future__ import annotations

import calendar
import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the benchmarks package
from benchmarks import benchlib


def test_no_quantile_of_a_small_sample_exceeds_its_largest_value() -> None:
    summary = benchlib.quantiles([float(i) for i in range(1, 21)])
    assert (summary["p95"], summary["p99"], summary["max"]) == (19.9, 20.0, 20.0)


def test_quantiles_of_a_known_sample() -> None:
    assert benchlib.quantiles([float(i) for i in range(100, 0, -1)]) == {
        "p50": 50.5,
        "p95": 96.0,
        "p99": 100.0,
        "max": 100.0,
        "n": 100,
    }


def test_one_slow_sample_shows_in_p95_and_max_not_p50() -> None:
    summary = benchlib.quantiles([10.0] * 19 + [1000.0])
    assert (summary["p50"], summary["p95"], summary["max"]) == (10.0, 950.5, 1000.0)


@pytest.fixture
def results_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(benchlib, "RESULTS_DIR", tmp_path / "results")
    return tmp_path / "results"


def test_write_results_stamps_measured_at_first(results_dir: Path) -> None:
    path = benchlib.write_results("demo", {"rows": 3, "per_s": 1200})

    assert path == results_dir / "demo.json"
    document = json.loads(path.read_text())
    assert list(document) == ["measured_at", "rows", "per_s"]
    stamped = calendar.timegm(time.strptime(document["measured_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(stamped - time.time()) < 60
    assert path.read_text().endswith("}\n")


def test_write_results_keeps_a_given_measured_at_and_replaces_the_file(results_dir: Path) -> None:
    benchlib.write_results("demo", {"rows": 1})
    path = benchlib.write_results("demo", {"measured_at": "2026-01-02T03:04:05Z", "rows": 2})

    assert json.loads(path.read_text()) == {"measured_at": "2026-01-02T03:04:05Z", "rows": 2}
    assert [p.name for p in results_dir.iterdir()] == ["demo.json"]  # no temporary file left behind


def test_stopwatch_measures_the_block() -> None:
    with benchlib.Stopwatch() as clock:
        deadline = time.perf_counter() + 0.02
        while time.perf_counter() < deadline:
            pass
    assert 0.02 <= clock.seconds < 1
    assert clock.ms == pytest.approx(clock.seconds * 1000)
