"""Asking the dispatcher to run now, off the request's path: the schedule catches what a nudge misses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import Field, NonNegativeFloat

from labcore.config import LabSettings

logger = Logger(child=True)


class NudgeSettings(LabSettings):
    """Settings of a function that nudges the dispatcher after a commit (set by Terraform)."""

    dispatcher_function: str = Field(min_length=1)  # required: without it events wait for the schedule
    dispatch_nudge_interval_s: NonNegativeFloat = 1.0


def lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    # A nudge is an optimisation: short timeouts and at most one retry, never a long wait.
    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("lambda", config=config)


class DispatcherNudge:
    """At most one asynchronous Invoke of the dispatcher per `interval_s` from this environment.

    A nudged dispatcher listens for commits for longer than the interval (DISPATCH_LINGER_S), so
    the jobs in between reach it through Postgres NOTIFY without paying for another Invoke. The
    client is built at init and the Invoke sent from a background thread, so no response waits for
    either (the thread sends the request at once; a frozen environment finishes it when it thaws).
    """

    def __init__(
        self,
        function_name: str,
        interval_s: float,
        source: str,
        make_client: Callable[[], Any] = lambda_client,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.interval_s = interval_s
        self._payload = json.dumps({"source": source}).encode()
        self._clock = clock
        self._last = -float("inf")
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nudge")
        self._client: Any = None
        try:
            self._client = make_client()
        except Exception as exc:  # no region or credentials: each nudge logs it, the schedule publishes
            logger.warning("no Lambda client for nudges", extra={"error": f"{type(exc).__name__}: {exc}"})

    def __call__(self) -> Future[None] | None:
        """Send a nudge unless one went out less than `interval_s` ago; never raises."""
        now = self._clock()
        if now - self._last < self.interval_s:
            return None
        self._last = now
        return self._thread.submit(self._invoke)

    def _invoke(self) -> None:
        try:
            if self._client is None:
                raise RuntimeError("no Lambda client (see the warning at init)")
            self._client.invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=self._payload
            )
        except Exception as exc:  # never fails anything: the job is committed and the schedule publishes it
            logger.warning("dispatcher nudge failed", extra={"error": f"{type(exc).__name__}: {exc}"})
