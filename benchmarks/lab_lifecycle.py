"""How long the lab takes to come up and deploy, and whether `make down` leaves anything behind.

Runs: make down (start from nothing), make up, make apply (fresh LocalStack), make apply again
(nothing changed), then warm GET /ping latency through the _user_request_ URL, then make down
and a check that no port or process of the lab remains. Venvs and the build cache are reused
(they are what a developer has after the first run). Prints the figures and saves them to
benchmarks/results/lab_lifecycle.json. Usage: .lab/venv/bin/python benchmarks/lab_lifecycle.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import labtools
from benchmarks import benchlib

PG_PORT = int(os.environ.get("LAB_PG_PORT", "15432"))
PING_REQUESTS = 200


def timed_make(*targets: str) -> float:
    with benchlib.Stopwatch() as clock:
        subprocess.run(["make", *targets], cwd=benchlib.ROOT, check=True, stdout=subprocess.DEVNULL)
    return clock.seconds


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def lab_processes() -> list[str]:
    lab_dir = os.environ.get("LAB_DIR", str(benchlib.ROOT / ".lab"))
    result = subprocess.run(["pgrep", "-af", f"{lab_dir}/"], capture_output=True, text=True, check=False)
    return [line for line in result.stdout.splitlines() if "pgrep" not in line]


def ping_latency_ms() -> dict[str, float]:
    try:
        url = labtools.outputs()["ping_url"]
    except labtools.NotDeployed as exc:
        sys.exit(f"bench: `make apply` left nothing deployed: {exc}")
    session = requests.Session()
    for _ in range(5):  # warm the environment and the connection
        session.get(url, timeout=10).raise_for_status()
    samples = []
    for _ in range(PING_REQUESTS):
        with benchlib.Stopwatch() as clock:
            session.get(url, timeout=10).raise_for_status()
        samples.append(clock.ms)
    return benchlib.quantiles(samples)


def main() -> None:
    timed_make("down")
    up = timed_make("up")
    apply_fresh = timed_make("apply")
    apply_again = timed_make("apply")
    ping = ping_latency_ms()
    down = timed_make("down")
    leftovers = {
        "port_4566_open": port_open(4566),
        f"port_{PG_PORT}_open": port_open(PG_PORT),
        "processes": lab_processes(),
    }
    figures = {
        "make_up_s": round(up, 1),
        "make_apply_fresh_s": round(apply_fresh, 1),
        "make_up_apply_s": round(up + apply_fresh, 1),
        "target_make_up_apply_s": 60,
        "make_apply_unchanged_s": round(apply_again, 1),
        "ping_user_request_warm_ms": ping,
        "make_down_s": round(down, 1),
        "left_behind_after_down": leftovers,
    }
    print(benchlib.write_results("lab_lifecycle", figures).read_text(), end="")
    if any(leftovers.values()):
        sys.exit("make down left something behind")


if __name__ == "__main__":
    main()
