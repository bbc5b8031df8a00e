"""The payments function, native mode: a warm createPayment against a trivial function's invoke,
and the STS calls warm invocations make.

Both functions are invoked directly (RequestResponse), interleaved, after warming each partner's
credentials; the trivial function is created for the run with the payments function's role and
deleted afterwards. STS calls are counted from the function's own log ("assumed partner role", one
line per AssumeRole) before and after the warm invocations. Targets: createPayment p50 <= 1.5x the
trivial invoke; 0 STS calls after the first per partner.
Saves benchmarks/results/payments.json.
Usage: .lab/venv/bin/python benchmarks/payments.py [--invocations 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import labtools
from benchmarks import benchlib

PARTNERS = ("partner1", "partner2")
NOOP_SOURCE = """
def handler(event, context):
    return {"success": True, "data": {}}
"""


def invoke(client: Any, function: str, event: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    with benchlib.Stopwatch() as clock:
        response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        body: dict[str, Any] = json.loads(response["Payload"].read())
    if "FunctionError" in response or not body.get("success"):
        sys.exit(f"bench: {function} answered {body}")
    return clock.ms, {**body, "request_id": response["ResponseMetadata"]["RequestId"]}


def assumed_roles(function: str, after_request: str) -> Counter[str]:
    """AssumeRole lines in the function's log, once the log holds the invocation `after_request`."""
    deadline = time.monotonic() + 30
    while True:
        lines = labtools.function_logs(function, 1_000_000)
        if any(f"END RequestId: {after_request}" in line for line in lines):
            break
        if time.monotonic() > deadline:
            sys.exit(f"bench: the log of {function} never showed invocation {after_request}")
        time.sleep(0.2)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return Counter(r["partner_id"] for r in records if r.get("message") == "assumed partner role")


def create_event(i: int) -> dict[str, Any]:
    partner = PARTNERS[i % len(PARTNERS)]
    return {"partnerId": partner, "action": "createPayment", "data": {"amount": "12.34", "currency": "USD"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invocations", type=int, default=100)
    args = parser.parse_args()
    function = str(labtools.outputs()["functions"]["payments"])
    client = labtools.aws_client("lambda")
    role = client.get_function(FunctionName=function)["Configuration"]["Role"]
    with benchlib.bench_function(f"outbox-lab-bench-noop-{uuid.uuid4().hex[:6]}", NOOP_SOURCE, role) as noop:
        last = ""
        for i in range(10):  # warm both functions and both partners' credentials
            invoke(client, noop, {})
            last = invoke(client, function, create_event(i))[1]["request_id"]
        before = assumed_roles(function, last)
        payments_ms: list[float] = []
        noop_ms: list[float] = []
        for i in range(args.invocations):
            noop_ms.append(invoke(client, noop, {})[0])
            took, body = invoke(client, function, create_event(i))
            payments_ms.append(took)
            last = body["request_id"]
        after = assumed_roles(function, last)
    payments, trivial = benchlib.quantiles(payments_ms), benchlib.quantiles(noop_ms)
    figures = {
        "invocations": args.invocations,
        "create_payment_ms": payments,
        "trivial_invoke_ms": trivial,
        "ratio_p50": round(payments["p50"] / trivial["p50"], 2),
        "target_ratio_p50": 1.5,
        "sts_calls_before": dict(before),
        "sts_calls_during_warm_invocations": sum((after - before).values()),
    }
    print(benchlib.write_results("payments", figures).read_text(), end="")


if __name__ == "__main__":
    main()
