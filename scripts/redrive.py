"""Moves the messages of a dead-letter queue back to the queue they came from (SQS redrive).

Usage: .lab/venv/bin/python scripts/redrive.py [--queue jobs] [--timeout 30]
Uses SQS's own StartMessageMoveTask and waits for it to finish; prints how many moved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import labtools

ROOT = Path(__file__).resolve().parent.parent


def queue_arn(client: Any, url: str) -> str:
    return str(
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def redrive(client: Any, dlq_url: str, queue_url: str, timeout: float) -> int:
    """Start a move task from the DLQ to its source queue and wait until it completes."""
    source, destination = queue_arn(client, dlq_url), queue_arn(client, queue_url)
    waiting = int(
        client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )
    if waiting == 0:
        return 0
    handle = client.start_message_move_task(SourceArn=source, DestinationArn=destination)["TaskHandle"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = client.list_message_move_tasks(SourceArn=source)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        if task.get("Status") == "COMPLETED":
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if task.get("Status") in ("FAILED", "CANCELLED"):
            raise SystemExit(
                f"redrive: move task {task.get('Status')}: {task.get('FailureReason', 'no reason given')}"
            )
        time.sleep(0.2)
    raise SystemExit(f"redrive: move task not finished after {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue", choices=("jobs",), default="jobs")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    try:
        outputs = labtools.outputs()
    except labtools.NotDeployed as exc:
        sys.exit(f"redrive: the lab is not deployed ({exc})")
    client = labtools.aws_client("sqs")
    moved = redrive(
        client, outputs[f"{args.queue}_dlq_url"], outputs[f"{args.queue}_queue_url"], args.timeout
    )
    print(f"redrive: moved {moved} message(s) from {args.queue} DLQ back to its queue")


if __name__ == "__main__":
    main()
