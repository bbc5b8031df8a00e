"""Fault recovery times: runs the fault suite (tests/faults) and saves the figures each fault measured.

Every fault's test records how long the lab took to recover (for example Postgres back -> first job
completed); this keeps them as benchmarks/results/faults.json, rendered in docs/benchmarks.md.
Needs `make up apply` (native mode); ends with the lab redeployed, as the suite does.
Usage: .lab/venv/bin/python benchmarks/fault_recovery.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
from benchmarks import benchlib


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        figures_file = Path(scratch) / "faults.json"
        suite = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(benchlib.ROOT / "tests" / "faults"),
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            cwd=benchlib.ROOT,
            env={**os.environ, "LAB_FAULT_FIGURES": str(figures_file)},
            check=False,
        )
        if suite.returncode != 0:
            raise SystemExit(
                f"fault_recovery: the fault suite failed (exit {suite.returncode}); no figures saved"
            )
        recovery = json.loads(figures_file.read_text())
    print(benchlib.write_results("faults", {"recovery_s": recovery}).read_text(), end="")


if __name__ == "__main__":
    main()
