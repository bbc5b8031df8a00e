"""Mutation testing: lambdas/ with mutmut, the executor's bootstrap with cosmic-ray; prints the scores."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

import toml  # type: ignore[import-untyped]  # cosmic-ray's own dependency: its config is TOML

import migrate

ROOT = Path(__file__).resolve().parent.parent
LAB = Path(os.environ.get("LAB_DIR", ROOT / ".lab"))
STAGE = LAB / "mutate"
EXECUTOR_STAGE = LAB / "mutate-executor"
# Mutants write whatever they like (JSON null headers, say): never into the lab's own database.
SCRATCH_DB = "outbox_mutate"
# What mutmut reads or copies, from the project's root; lambdas/ is staged as src/ (see pyproject).
LINKS = {"src": "lambdas", "pyproject.toml": "pyproject.toml", "tests": "tests", "scripts": "scripts"}
LINKS |= {"db": "db", "localstack-native": "localstack-native", "samples": "samples", "schemas": "schemas"}
KILLED = {"killed", "timeout", "caught by type check"}
SURVIVED = {"survived", "no tests"}
# Survivors that no test can kill, by the mutated ("+") line of their diff: (pattern, why).
EQUIVALENT = [
    (
        r"quantize\(Decimal\(1\)\.scaleb\(-\w+\), (rounding=None)?\s*\)",
        "the default context rounds half-even",
    ),
    (r"quantize\(Decimal\(2\)\.scaleb\(", "quantize reads only the exponent of its argument"),
    (r'format\([\w.]+, "F"\)', '"F" differs from "f" only for infinities and NaN, never stored'),
    (
        r"ThreadPoolExecutor\(|concurrency: int = \d+\)",
        "pool size and thread names change speed and debugging only",
    ),
    (r"if \(failures\) or True else", "marking an empty list of failures updates no row"),
    (r"^began = None$", "None is as false as False"),
    (r"if wait < 0 or", "a wait of exactly 0 s ends the linger either way"),
    (r"format\(job\.source_amount, \)", "a four-place amount above 0 prints the same through str()"),
    (r'get_correlation_id\(\) or "XXXX"', "the handler sets a correlation id before any route runs"),
    (
        r"now - _last_nudge <= NUDGE_INTERVAL_S",
        "differs only when two readings are exactly one interval apart",
    ),
    (
        r'"XX\.XX"\.join|or "XXbodyXX"|or "BODY"',
        "the request model is flat: a location has one part, never none",
    ),
    (r'headers\.get\("CONTENT-TYPE"\)', "powertools' header lookup is case-insensitive"),
    (r"exc\.errors\(", "include_url/include_input add keys the handler never reads"),
    (r'listening: .* = ""', "anything but the connection makes the first pass open one"),
    (r"notifies\(timeout=wait, (stop_after=(None|2))?\s*\)", "any() stops at the first notification"),
    (r"/ 1001\)", "a thousandth of the remaining time"),
    # lambda_bootstrap.py: `from __future__ import annotations`, so annotations are never evaluated.
    (r"^def .*: \w+ (\+|-|\*|/|//|%|\*\*|>>|<<|&|\^) None", "an annotation, never evaluated"),
    (r"^if __name__ (<=|>=|is) \"__main__\":", "the name is exactly __main__ when run by path"),
]


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


def mutate_lambdas() -> int:
    stage()
    started = time.monotonic()
    children = os.environ.get("MUTATE_CHILDREN", str(os.cpu_count() or 2))
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", children]
    with migrate.scratch_database(SCRATCH_DB, name=SCRATCH_DB) as dbname:
        env = {**os.environ, "LAB_DB_NAME": dbname}
        run = subprocess.run(command, check=False, cwd=STAGE, env=env)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        return run.returncode
    statuses = results()
    for name, status in statuses.items():
        if status in SURVIVED and (why := equivalent(_mutmut_diff(name))):
            statuses[name] = f"equivalent: {why}"
    by_package: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_package[name.split(".")[0]][status.partition(":")[0]] += 1
    total = Counter(status.partition(":")[0] for status in statuses.values())
    print(f"\nmutmut over lambdas/ in {elapsed:.0f} s (results in {STAGE / 'mutants'}):")
    for package, counts in [*sorted(by_package.items()), ("lambdas/", total)]:
        killed = sum(counts[s] for s in KILLED)
        scored = killed + sum(counts[s] for s in SURVIVED)
        share = f"{100 * killed / scored:.1f}%" if scored else "n/a"
        print(f"  {package:<14} {killed}/{scored} killed ({share})  {json.dumps(dict(counts))}")
    survivors = sorted(name for name, status in statuses.items() if status in SURVIVED)
    print(f"equivalent, not scored ({len(statuses) - sum(total[s] for s in KILLED | SURVIVED)}):")
    for name, status in sorted(statuses.items()):
        if status.startswith("equivalent"):
            print(f"  {name}: {status.removeprefix('equivalent: ')}")
    if survivors:
        print("survivors (`cd .lab/mutate && mutmut show NAME` shows the diff):")
        print("\n".join(f"  {name}" for name in survivors))
    return 0


def mutate_executor() -> int:
    """cosmic-ray over the bootstrap, on a copy: it rewrites the module on disk for each mutant."""
    shutil.rmtree(EXECUTOR_STAGE, ignore_errors=True)
    shutil.copytree(ROOT / "localstack-native", EXECUTOR_STAGE / "localstack-native", ignore=_caches)
    shutil.copy2(ROOT / "pyproject.toml", EXECUTOR_STAGE / "pyproject.toml")
    (EXECUTOR_STAGE / "scripts").symlink_to(ROOT / "scripts")
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cosmic-ray"]
    config = EXECUTOR_STAGE / "cosmic-ray.toml"  # cosmic-ray wants a top-level "cosmic-ray" table
    config.write_text(toml.dumps({"cosmic-ray": settings}))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    for step in ("init", "exec"):
        command = [sys.executable, "-m", "cosmic_ray.cli", step, config.name, "session.sqlite"]
        subprocess.run(command, check=True, cwd=EXECUTOR_STAGE, env=env)
    elapsed = time.monotonic() - started
    with sqlite3.connect(EXECUTOR_STAGE / "session.sqlite") as db:
        rows = db.execute("SELECT test_outcome, diff FROM work_results").fetchall()
    outcomes = Counter("EQUIVALENT" if o == "SURVIVED" and equivalent(diff) else o for o, diff in rows)
    # "incompetent": the mutant broke the module before a test could run; counted as killed.
    killed, scored = outcomes["KILLED"] + outcomes["INCOMPETENT"], len(rows) - outcomes["EQUIVALENT"]
    share = f"{100 * killed / scored:.1f}%" if scored else "n/a"
    print(f"\ncosmic-ray over lambda_bootstrap.py in {elapsed:.0f} s: {killed}/{scored} killed ({share}),")
    print(f"  {outcomes['EQUIVALENT']} equivalent not scored; survivors with their diffs:")
    print(f"  cr-report --surviving-only --show-diff {EXECUTOR_STAGE / 'session.sqlite'}")
    return 0


def _caches(_: str, names: list[str]) -> list[str]:
    return [name for name in names if name in {"__pycache__", "build"} or name.endswith(".egg-info")]


def equivalent(diff: str) -> str | None:
    """Why the mutant in this diff cannot be told apart from the original, if it is listed."""
    added = [
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    for pattern, why in EQUIVALENT:
        if any(re.search(pattern, line) for line in added):
            return why
    return None


def _mutmut_diff(name: str) -> str:
    command = [sys.executable, "-m", "mutmut", "show", name]
    return subprocess.run(command, cwd=STAGE, check=True, capture_output=True, text=True).stdout


def main() -> int:
    which = sys.argv[1:] or ["lambdas", "executor"]
    for part, run in (("lambdas", mutate_lambdas), ("executor", mutate_executor)):
        if part in which and run() != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
