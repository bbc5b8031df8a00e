"""How long the lab takes to come up and deploy, and whether `make down` leaves anything behind.

Runs: make down (start from nothing), make up, make apply (fresh LocalStack), make apply again
(nothing changed), then warm GET /ping latency through the _user_request_ URL, then make down
and a check that no port or process of the lab remains. Venvs and the build cache are reused
(they are what a developer has after the first run). Prints the figures and saves them to
benchmarks/results/lab_lifecycle.json. Usage: .lab/venv/bin/python benchmarks/lab_lifecycle.py
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "lab_lifecycle.json"
PG_PORT = int(os.environ.get("LAB_PG_PORT", "15432"))
PING_REQUESTS = 200


def timed_make(*targets: str) -> float:
    started = time.perf_counter()
    subprocess.run(["make", *targets], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def lab_processes() -> list[str]:
    lab_dir = os.environ.get("LAB_DIR", str(ROOT / ".lab"))
    result = subprocess.run(["pgrep", "-af", f"{lab_dir}/"], capture_output=True, text=True, check=False)
    return [line for line in result.stdout.splitlines() if "pgrep" not in line]


def ping_latency_ms() -> dict[str, float]:
    outputs = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lab.py"), "outputs"],
        capture_output=True,
        text=True,
        check=True,
    )
    url = json.loads(outputs.stdout)["ping_url"]
    session = requests.Session()
    for _ in range(5):  # warm the environment and the connection
        session.get(url, timeout=10).raise_for_status()
    samples = []
    for _ in range(PING_REQUESTS):
        started = time.perf_counter()
        session.get(url, timeout=10).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(samples, n=100)
    return {"p50": round(quantiles[49], 1), "p95": round(quantiles[94], 1), "n": len(samples)}


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
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "make_up_s": round(up, 1),
        "make_apply_fresh_s": round(apply_fresh, 1),
        "make_up_apply_s": round(up + apply_fresh, 1),
        "target_make_up_apply_s": 60,
        "make_apply_unchanged_s": round(apply_again, 1),
        "ping_user_request_warm_ms": ping,
        "make_down_s": round(down, 1),
        "left_behind_after_down": leftovers,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    if any(leftovers.values()):
        sys.exit("make down left something behind")


if __name__ == "__main__":
    main()
