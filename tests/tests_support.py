"""Builders of Lambda events and contexts for tests that call handlers in-process, and small
helpers every layer shares (polling, a held row lock, the redrive command)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from labtools import admin_conninfo, app_conninfo

__all__ = ["admin_conninfo", "app_conninfo"]


@dataclass
class FakeLambdaContext:
    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def lambda_context(function_name: str) -> Any:
    return FakeLambdaContext(
        function_name=function_name,
        aws_request_id=str(uuid.uuid4()),
        invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}",
    )


def sqs_event(messages: list[tuple[str, str]], queue: str = "outbox-lab-jobs") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
                "awsRegion": "us-east-1",
            }
            for message_id, body in messages
        ]
    }


def api_event(
    method: str,
    path: str,
    body: dict[str, Any] | str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway sends it to a Lambda integration."""
    headers = {"Content-Type": "application/json"} if headers is None else headers
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/lab{path}",
            "stage": "lab",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def poll[T](
    fetch: Callable[[], T | None], *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"
) -> T:
    """Call fetch until it returns something truthy; fail with `what` when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def row_locked(query: str, params: tuple[Any, ...]) -> Iterator[None]:
    """Another session holds the rows `query` (a SELECT ... FOR UPDATE) locks, for the block's duration."""
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with psycopg.connect(**admin_conninfo()) as conn, conn.transaction():
            conn.execute(query, params)
            holding.set()
            release.wait(timeout=10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert holding.wait(timeout=10), "the lock was not taken"
        yield
    finally:
        release.set()
        holder.join(timeout=10)


def redrive_jobs_dlq() -> int:
    """Run the redrive command (scripts/redrive.py) as a user would; how many messages it moved."""
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parents[1] / "scripts" / "redrive.py"),
            "--queue",
            "jobs",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    moved = re.search(r"moved (\d+) message", result.stdout)
    assert moved, result.stdout
    return int(moved.group(1))
