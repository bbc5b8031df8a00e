"""Jobs API speed: warm POST /jobs latency and cold start, each against its floor in the same run.

Warm: POST /jobs through the _user_request_ URL, interleaved with a trivial handler behind the
same REST API (a temporary `bench-noop` resource); p50/p95 of each, target POST <= 1.3x noop.
Cold: the jobs API's init + first POST (from its REPORT line) after a forced new environment,
against a floor function that only imports the same dependencies, fetches the secret, connects
and runs one INSERT; medians over several cold starts, target <= 1.2x the floor.
Prints the figures and saves benchmarks/results/jobs_api.json. Needs `make up apply`.
Usage: .lab/venv/bin/python benchmarks/jobs_api.py [--requests 200] [--cold-starts 8]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import labtools
from benchmarks import benchlib
from lab import settings, stack

ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")
CLIENT_PREFIX = "bench-"

NOOP_SOURCE = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
"""

# The floor of a cold POST: the same imports, the secret, a connection, one INSERT; nothing else.
# `import pydantic` alone loads almost nothing (its names load lazily): the floor imports BaseModel
# and pydantic-settings, as any function that validates its input and its settings must.
FLOOR_SOURCE = """
import json, os, time, uuid

def handler(event, context):
    started = time.perf_counter()
    import boto3, psycopg, pydantic_settings
    from pydantic import BaseModel
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    imported = time.perf_counter()
    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["DB_SECRET_ID"])["SecretString"]
    )
    fetched = time.perf_counter()
    conn = psycopg.connect(host=secret["host"], port=secret["port"], user=secret["username"],
                           password=secret["password"], dbname=secret["dbname"], autocommit=True)
    connected = time.perf_counter()
    conn.execute(
        "INSERT INTO conversion_jobs (job_id, client_id, source_currency, target_currency, source_amount,"
        " request_hash) VALUES (%s, %s, 'USD', 'EUR', 1, 'floor')",
        (uuid.uuid4(), "bench-floor"),
    )
    done = time.perf_counter()
    conn.close()
    ms = lambda a, b: round((b - a) * 1000, 1)
    return {"imports": ms(started, imported), "secret": ms(imported, fetched),
            "connect": ms(fetched, connected), "insert": ms(connected, done)}
"""


aws = labtools.aws_client
bench_function = benchlib.bench_function


@contextmanager
def noop_route(api_id: str, stage: str, function_arn: str) -> Iterator[str]:
    """A temporary resource on the lab's REST API, deployed to its stage, removed afterwards."""
    apigw = aws("apigateway")
    root = next(item["id"] for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="bench-noop")["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=uri,
    )
    apigw.create_deployment(restApiId=api_id, stageName=stage)
    try:
        yield f"{ENDPOINT}/restapis/{api_id}/{stage}/_user_request_/bench-noop"
    finally:
        apigw.delete_resource(restApiId=api_id, resourceId=resource)
        apigw.create_deployment(restApiId=api_id, stageName=stage)


def warm_latency(jobs_url: str, noop_url: str, count: int) -> dict[str, Any]:
    session = requests.Session()

    def body() -> dict[str, Any]:
        return {
            "client_id": f"{CLIENT_PREFIX}{uuid.uuid4().hex[:12]}",
            "source_currency": "USD",
            "target_currency": "EUR",
            "source_amount": "10.00",
        }

    def timed(url: str, expected: int) -> float:
        with benchlib.Stopwatch() as clock:
            response = session.post(url, json=body(), timeout=10)
        if response.status_code != expected:
            raise SystemExit(f"bench: {url} answered {response.status_code}: {response.text}")
        return clock.ms

    for _ in range(10):
        timed(jobs_url, 201)
        timed(noop_url, 200)
    jobs, noop = [], []
    for _ in range(count):  # interleaved, so drift affects both alike
        jobs.append(timed(jobs_url, 201))
        noop.append(timed(noop_url, 200))
    result: dict[str, Any] = {
        "post_jobs_ms": benchlib.quantiles(jobs),
        "trivial_handler_ms": benchlib.quantiles(noop),
    }
    result["ratio_p50"] = round(result["post_jobs_ms"]["p50"] / result["trivial_handler_ms"]["p50"], 2)
    result["target_ratio"] = 1.3
    return result


REPORT = re.compile(
    r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms.*?(?:Init Duration: ([\d.]+) ms)?\t?$", re.M
)


def cold_invoke(name: str, event: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Force a new execution environment, invoke once; returns init + duration from REPORT."""
    lambda_ = aws("lambda")
    config = lambda_.get_function_configuration(FunctionName=name)
    variables = {**config.get("Environment", {}).get("Variables", {}), "BENCH_NONCE": uuid.uuid4().hex}
    lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=name)
    response = lambda_.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise SystemExit(f"bench: {name} failed: {payload}")
    log = base64.b64decode(response["LogResult"]).decode()
    match = REPORT.search(log)
    if not match or match.group(2) is None:
        raise SystemExit(f"bench: no cold REPORT line from {name}:\n{log[-500:]}")
    return float(match.group(1)) + float(match.group(2)), payload


def restore_environment(name: str) -> None:
    lambda_ = aws("lambda")
    variables = dict(lambda_.get_function_configuration(FunctionName=name)["Environment"]["Variables"])
    variables.pop("BENCH_NONCE", None)
    lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=name)


def cold_starts(jobs_function: str, floor_function: str, count: int) -> dict[str, Any]:
    post = {
        "resource": "/{proxy+}",
        "path": "/jobs",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "requestContext": {"requestId": "bench", "stage": "lab", "path": "/lab/jobs"},
        "pathParameters": {"proxy": "jobs"},
        "isBase64Encoded": False,
    }
    jobs, floor, breakdowns = [], [], []
    try:
        for _ in range(count):
            body = {
                "client_id": f"{CLIENT_PREFIX}cold",
                "source_currency": "USD",
                "target_currency": "EUR",
                "source_amount": "1",
            }
            elapsed, _ = cold_invoke(jobs_function, {**post, "body": json.dumps(body)})
            jobs.append(elapsed)
            elapsed, parts = cold_invoke(floor_function, {})
            floor.append(elapsed)
            breakdowns.append(parts)
    finally:
        restore_environment(jobs_function)
    median: Callable[[list[float]], float] = lambda values: round(statistics.median(values), 1)  # noqa: E731
    return {
        "jobs_api_init_plus_first_post_ms": {"median": median(jobs), "samples": [round(v, 1) for v in jobs]},
        "floor_ms": {"median": median(floor), "samples": [round(v, 1) for v in floor]},
        "floor_breakdown_median_ms": {key: median([b[key] for b in breakdowns]) for key in breakdowns[0]},
        "ratio": round(statistics.median(jobs) / statistics.median(floor), 2),
        "target_ratio": 1.2,
    }


def floor_dependencies(config: dict[str, Any], build_dir: Path, arch: str) -> tuple[bytes | None, list[str]]:
    """How the floor gets the jobs API's dependencies: the jobs API's layers when it has them (attach
    delivery), else the bundled zip it was deployed from (bundle delivery, as in Docker mode)."""
    if layers := [layer["Arn"] for layer in config.get("Layers", [])]:
        return None, layers
    bundled = build_dir / f"jobs_api-bundled-{arch}.zip"
    if not bundled.exists():
        sys.exit(f"the jobs API has no layer and {bundled} is missing: run `make apply`")
    return bundled.read_bytes(), []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cold-starts", type=int, default=8)
    args = parser.parse_args()
    out = labtools.outputs()
    jobs_function = out["functions"]["jobs_api"]
    config = aws("lambda").get_function_configuration(FunctionName=jobs_function)
    role = config["Role"]
    suffix = uuid.uuid4().hex[:6]
    floor_env = {
        "Variables": {k: v for k, v in config["Environment"]["Variables"].items() if k != "BENCH_NONCE"}
    }
    base_zip, layers = floor_dependencies(config, settings.BUILD_DIR, stack.architecture())
    try:
        with (
            bench_function(f"outbox-lab-bench-noop-{suffix}", NOOP_SOURCE, role) as noop_arn,
            bench_function(
                f"outbox-lab-bench-floor-{suffix}",
                FLOOR_SOURCE,
                role,
                base_zip,
                Environment=floor_env,
                Layers=layers,
            ),
            noop_route(out["api_id"], out["api_stage"], noop_arn) as noop_url,
        ):
            figures = {
                "measured_at": benchlib.utc_timestamp(),
                "warm": warm_latency(out["jobs_url"], noop_url, args.requests),
                "cold": cold_starts(jobs_function, f"outbox-lab-bench-floor-{suffix}", args.cold_starts),
            }
    finally:
        with psycopg.connect(**labtools.admin_conninfo()) as conn:
            benchlib.delete_bench_jobs(conn, CLIENT_PREFIX)
    print(benchlib.write_results("jobs_api", figures).read_text(), end="")


if __name__ == "__main__":
    main()
