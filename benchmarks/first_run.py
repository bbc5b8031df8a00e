"""How long a newcomer waits: a fresh clone of the committed branch to a deployed lab (`make up apply`).

Clones HEAD's branch into a temporary folder (no .lab), runs `make up apply` there on a free Postgres
port with empty pip and uv caches (a clean machine; --warm-cache keeps this machine's), timestamps
every line it prints to split the time into phases, then tears it down with `make clean`.
Needs port 4566 free (run it through /work/wt/stack-run where several labs share a machine).
Saves benchmarks/results/first_run.json. Usage: .lab/venv/bin/python benchmarks/first_run.py
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
from benchmarks.benchlib import write_results

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 90
LOCALSTACK_PORT = 4566

# (phase, the line that ends it); each phase starts where the previous one ended.
PHASES = (
    ("uv", r"^lab: uv .* installed from PyPI"),
    ("venv_dev", r"^lab: dev tools ready"),
    ("venv_runtime", r"^lab: the Lambda .* runtime ready"),
    ("venv_localstack", r"^lab: LocalStack .* ready"),
    ("postgres_and_localstack_start", r"^lab: up in"),
    ("build", r"^build: .*\.zip"),  # the last zip line ends the build
    ("migrate", r"^migrate: "),
    ("terraform", r"^lab: applied in"),
)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[tuple[float, str]]]:
    """Run a command, echoing its output; returns its status and every line with its arrival time (s)."""
    started = time.perf_counter()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.perf_counter() - started, line.rstrip("\n")))
            print(f"  {lines[-1][0]:6.1f}  {lines[-1][1]}", flush=True)
    return process.returncode, lines


def phases(lines: list[tuple[float, str]]) -> dict[str, float | None]:
    """Seconds per phase, from the time of the line that ends each one (None when its line is missing)."""
    result: dict[str, float | None] = {}
    previous = 0.0
    for name, pattern in PHASES:
        matches = [at for at, text in lines if re.search(pattern, text)]
        if not matches:
            result[name] = None
            continue
        end = matches[-1]
        result[name] = round(end - previous, 1)
        previous = end
    return result


def lab_processes(clone: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-af", f"{clone}/"], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm-cache", action="store_true", help="keep this machine's pip and uv caches")
    parser.add_argument("--ref", help="measure this commit instead of HEAD (printed, not saved)")
    args = parser.parse_args()
    if port_open(LOCALSTACK_PORT):
        sys.exit(f"first_run: port {LOCALSTACK_PORT} is in use: stop the running lab first (`make down`)")
    branch, commit = git("rev-parse", "--abbrev-ref", "HEAD"), git("rev-parse", args.ref or "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        print("first_run: uncommitted changes are not measured (the clone has HEAD only)")

    work = Path(tempfile.mkdtemp(prefix="outbox-lab-first-run-"))
    clone = work / "outbox-lab"
    pg_port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LAB_DIR", "UV_CACHE_DIR", "PIP_CACHE_DIR")}
    env |= {"LAB_PG_PORT": str(pg_port), "PYTHONUNBUFFERED": "1"}
    if not args.warm_cache:
        env["XDG_CACHE_HOME"] = str(work / "cache")  # where pip and uv keep their caches
    figures: dict[str, Any] = {
        "commit": commit,
        "caches": "warm" if args.warm_cache else "cold",
        # The machine may be shared: its load says how far the figures are from an idle machine's.
        "load_average_1min_before": round(os.getloadavg()[0], 2),
    }
    status = 1
    try:
        started = time.perf_counter()
        subprocess.run(["git", "clone", "--quiet", "--branch", branch, str(ROOT), str(clone)], check=True)
        if args.ref:
            subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", commit], check=True)
        clone_s = time.perf_counter() - started
        print(f"first_run: cloned {branch} ({commit[:10]}) in {clone_s:.1f} s (Postgres port {pg_port})")
        status, lines = run_timed(["make", "up", "apply"], clone, env)
        up_done = next((at for at, text in lines if text.startswith("lab: up in")), None)
        deployed = lines[-1][0] if lines else 0.0
        figures |= {
            "clone_s": round(clone_s, 1),
            "make_up_s": None if up_done is None else round(up_done, 1),
            "make_apply_s": None if up_done is None else round(deployed - up_done, 1),
            "clone_to_deployed_s": round(clone_s + deployed, 1),
            "target_s": TARGET_S,
            "phases_s": phases(lines),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        }
    finally:
        started = time.perf_counter()
        if clone.exists():
            subprocess.run(["make", "clean"], cwd=clone, env=env, check=False, stdout=subprocess.DEVNULL)
        figures["make_clean_s"] = round(time.perf_counter() - started, 1)
        leftovers = {
            "localstack_port_open": port_open(LOCALSTACK_PORT),
            "postgres_port_open": port_open(pg_port),
            "processes": lab_processes(clone),
        }
        shutil.rmtree(work, ignore_errors=True)
    if status != 0:
        sys.exit(f"first_run: `make up apply` failed with status {status} in the clone")
    figures["left_behind_after_clean"] = leftovers
    saved = "not saved (--ref)" if args.ref else str(write_results("first_run", figures))
    print(
        f"first_run: clone -> deployed in {figures['clone_to_deployed_s']} s (target {TARGET_S} s); {saved}"
    )
    before, after = figures["load_average_1min_before"], figures["load_average_1min_after"]
    print(f"  load average {before} before, {after} after")
    for name, seconds in figures["phases_s"].items():
        print(f"  {name:<32}{seconds if seconds is not None else '-':>8}")
    if any(leftovers.values()):
        sys.exit(f"first_run: make clean left something behind: {leftovers}")


if __name__ == "__main__":
    main()
