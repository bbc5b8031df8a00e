"""AWS clients, created on first use and reused by every warm invocation of the environment."""

from __future__ import annotations

import functools
from typing import Any


def new_client(service: str, **options: Any) -> Any:
    """A client with bounded waits: a slow endpoint fails a call in seconds instead of holding row
    locks for minutes. Not cached: for clients of their own (another region, assumed credentials)."""
    import boto3  # deferred: boto3 costs ~100 ms to import, and not every cold path needs it
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client(service, config=config, **options)  # type: ignore[call-overload]


@functools.cache
def client(service: str) -> Any:
    """The environment's client of `service`, with the function's own credentials and region."""
    return new_client(service)
