"""The benchmark figures in the docs match benchmarks/results/*.json (benchmarks/report.py --check)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "benchmarks" / "report.py"


def report(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPORT), *args, "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The README, docs/ and benchmark results of this repository, in a scratch folder."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    return tmp_path


def test_docs_agree_with_the_results() -> None:
    result = report("--check")
    assert result.returncode == 0, result.stderr


def test_every_results_file_has_its_table() -> None:
    docs = (ROOT / "docs" / "benchmarks.md").read_text()
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        assert f"From `benchmarks/results/{path.name}`" in docs, path.name


def test_a_changed_figure_is_drift_until_regenerated(copy: Path) -> None:
    results = copy / "benchmarks" / "results" / "outbox_latency.json"
    figures = json.loads(results.read_text())
    figures["submit_to_completed_ms"]["p50"] = 123.4
    results.write_text(json.dumps(figures))

    drift = report("--check", root=copy)
    assert drift.returncode != 0
    assert "+| submit to `completed`, p50 | 123.4 ms |" in drift.stderr

    assert report(root=copy).returncode == 0
    docs = (copy / "docs" / "benchmarks.md").read_text()
    assert "| submit to `completed`, p50 | 123.4 ms | <= 150 ms |" in docs
    assert report("--check", root=copy).returncode == 0


def test_a_new_results_file_needs_its_table(copy: Path) -> None:
    (copy / "benchmarks" / "results" / "cache_warmth.json").write_text(
        json.dumps({"measured_at": "2026-11-29T00:00:00Z", "warm": {"p50": 12.5}})
    )
    assert report("--check", root=copy).returncode != 0
    assert report(root=copy).returncode == 0
    docs = (copy / "docs" / "benchmarks.md").read_text()
    assert "| `warm.p50` | 12.5 |" in docs
    assert report("--check", root=copy).returncode == 0


def test_a_figure_copied_by_hand_is_refused(copy: Path) -> None:
    figures = json.loads((copy / "benchmarks" / "results" / "relay_throughput.json").read_text())
    per_s = figures["dispatcher"]["per_s"]
    readme = copy / "README.md"
    readme.write_text(readme.read_text() + f"\nThe dispatcher sends {per_s:,} messages/s.\n")

    result = report("--check", root=copy)
    assert result.returncode != 0
    last_line = len(readme.read_text().splitlines())
    assert f"README.md:{last_line}: {per_s:,} (from relay_throughput.json)" in result.stderr


def test_a_table_without_its_results_file_is_refused(copy: Path) -> None:
    (copy / "benchmarks" / "results" / "jobs_api.json").unlink()
    result = report("--check", root=copy)
    assert result.returncode != 0
    assert "block 'jobs_api' has no benchmarks/results/jobs_api.json" in result.stderr
