"""Shared by the dev-venv scripts, benchmarks and tests: LocalStack clients, outputs, Postgres, queue depths.

Also a small entry point the lab runs in the dev venv: `python scripts/labtools.py function-logs NAME`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from psycopg.rows import DictRow, dict_row

from lab import deploy, settings, terraform
from lab.process import LabError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class NotDeployed(LabError):
    """`terraform output` has nothing: the lab is not up, or not applied."""


def endpoint() -> str:
    return settings.ENDPOINT


def aws_client(service: str, account_id: str | None = None, region: str = "us-east-1") -> Any:
    """A boto3 client for LocalStack: the lab's account, or `account_id`'s (LocalStack takes a
    12-digit access key id as the account it names)."""
    session = boto3.session.Session(
        aws_access_key_id=account_id or "test",
        aws_secret_access_key="test",  # noqa: S106 (LocalStack's documented dummy credentials)
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint())  # type: ignore[call-overload]


def sqs() -> SQSClient:
    client: SQSClient = aws_client("sqs")
    return client


def outputs() -> dict[str, Any]:
    """Terraform outputs of the deployed lab; LAB_OUTPUTS_JSON names a file to use instead."""
    if path := os.environ.get("LAB_OUTPUTS_JSON"):
        return dict(json.loads(Path(path).read_text()))
    try:
        return terraform.outputs()
    except LabError as exc:
        raise NotDeployed(str(exc)) from exc


def deployed_outputs() -> dict[str, Any]:
    """Terraform outputs once the lab is up and deployed to the running LocalStack (else a LabError).

    With LAB_OUTPUTS_JSON (another stack, as in the tests) its outputs are taken as they are.
    """
    found = outputs() if os.environ.get("LAB_OUTPUTS_JSON") else deploy.check_deployed()
    if "jobs_queue_url" not in found:
        raise LabError(
            "the deployed stack has no jobs queue (applied before the dispatcher): run `make apply`"
        )
    return found


def admin_conninfo(dbname: str | None = None) -> dict[str, Any]:
    """The lab's Postgres as its superuser (migrations, tests, tools)."""
    return {
        "host": os.environ.get("LAB_PG_HOST", "127.0.0.1"),
        "port": settings.PG_PORT,
        "user": os.environ.get("LAB_PG_USER", "postgres"),
        "password": settings.PG_SUPERUSER_PASSWORD,
        "dbname": dbname or settings.DB_NAME,
        "connect_timeout": 5,
    }


def app_conninfo() -> dict[str, Any]:
    """The same database as the Lambdas' least-privilege role."""
    return {
        **admin_conninfo(),
        "user": settings.APP_DB_USER,
        "password": settings.APP_DB_PASSWORD,
    }


def admin_connect() -> psycopg.Connection[DictRow]:
    """Superuser connection to the lab database (autocommit): reads what the Lambdas wrote."""
    conninfo = admin_conninfo()
    try:
        return psycopg.connect(**conninfo, autocommit=True, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or ["no reason given"])[0]
        raise LabError(
            f"cannot connect to Postgres at {conninfo['host']}:{conninfo['port']}: {first_line}"
        ) from exc


@dataclass(frozen=True)
class QueueDepth:
    visible: int
    in_flight: int


def queue_depth(client: SQSClient, url: str) -> QueueDepth:
    try:
        attributes = client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except (BotoCoreError, ClientError) as exc:
        raise LabError(f"cannot read the depth of {url}: {exc}") from exc
    return QueueDepth(
        visible=int(attributes["ApproximateNumberOfMessages"]),
        in_flight=int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def function_logs(name: str, lines: int) -> list[str]:
    """The last `lines` messages of a Lambda's CloudWatch log group, oldest first."""
    logs = aws_client("logs")
    group = f"/aws/lambda/{name}"
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        events = [event for page in pages for event in page["events"]]
    except logs.exceptions.ResourceNotFoundException as exc:
        raise LabError(f"no log group {group}: is {name} deployed, and has it run yet?") from exc
    except (BotoCoreError, ClientError) as exc:
        raise LabError(f"cannot read {group} from LocalStack at {endpoint()}: {exc}") from exc
    events.sort(key=lambda event: event["timestamp"])
    return [str(event["message"]).rstrip() for event in events[-lines:]] if lines > 0 else []


def start_dispatch(name: str) -> None:
    """One dispatcher pass, started asynchronously: what waited in the outbox goes out now."""
    try:
        aws_client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b'{"source": "lab"}')
    except (BotoCoreError, ClientError) as exc:
        raise LabError(f"cannot start a dispatcher pass of {name}: {exc}") from exc


def main() -> None:
    parser = argparse.ArgumentParser(description="Helpers the lab runs in the dev venv.")
    sub = parser.add_subparsers(dest="command", required=True)
    logs = sub.add_parser("function-logs", help="a Lambda's recent CloudWatch log messages")
    logs.add_argument("name")
    logs.add_argument("--lines", type=int, default=100)
    dispatch = sub.add_parser("start-dispatch", help="start one dispatcher pass (asynchronous invoke)")
    dispatch.add_argument("name")
    args = parser.parse_args()
    try:
        if args.command == "start-dispatch":
            start_dispatch(args.name)
            return
        for line in function_logs(args.name, args.lines):
            print(line)
    except LabError as exc:
        sys.exit(f"lab: {exc}")


if __name__ == "__main__":
    main()
