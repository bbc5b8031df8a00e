"""Mutation testing of lambdas/ with mutmut in a staging folder; prints the score per package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = Path(os.environ.get("LAB_DIR", ROOT / ".lab")) / "mutate"
# What mutmut reads or copies, from the project's root; lambdas/ is staged as src/ (see pyproject).
LINKS = {"src": "lambdas", "pyproject.toml": "pyproject.toml", "tests": "tests", "scripts": "scripts"}
LINKS |= {"db": "db", "localstack-native": "localstack-native"}
KILLED = {"killed", "timeout", "caught by type check"}
SURVIVED = {"survived", "no tests"}


def stage() -> None:
    """A fresh staging folder: mutmut keeps its copies and results in mutants/ beside the links."""
    shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir(parents=True)
    for name, target in LINKS.items():
        (STAGE / name).symlink_to(ROOT / target)


def results() -> dict[str, str]:
    """Every mutant's status, as `mutmut results --all true` prints them ("name: status")."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=STAGE,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


def main() -> int:
    stage()
    started = time.monotonic()
    children = os.environ.get("MUTATE_CHILDREN", str(os.cpu_count() or 2))
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", children]
    run = subprocess.run(command, check=False, cwd=STAGE)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        return run.returncode
    statuses = results()
    by_package: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_package[name.split(".")[0]][status] += 1
    total = Counter(statuses.values())
    print(f"\nmutmut over lambdas/ in {elapsed:.0f} s (results in {STAGE / 'mutants'}):")
    for package, counts in [*sorted(by_package.items()), ("lambdas/", total)]:
        killed = sum(counts[s] for s in KILLED)
        scored = killed + sum(counts[s] for s in SURVIVED)
        share = f"{100 * killed / scored:.1f}%" if scored else "n/a"
        print(f"  {package:<14} {killed}/{scored} killed ({share})  {json.dumps(dict(counts))}")
    survivors = sorted(name for name, status in statuses.items() if status in SURVIVED)
    if survivors:
        print("survivors (`cd .lab/mutate && mutmut show NAME` shows the diff):")
        print("\n".join(f"  {name}" for name in survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
