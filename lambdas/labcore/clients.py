"""AWS clients, created on first use and reused by every warm invocation of the environment."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def client(service: str) -> Any:
    """Bounded waits: a slow endpoint fails a call in seconds instead of holding row locks for minutes."""
    import boto3  # deferred: boto3 costs ~100 ms to import, and not every cold path needs it
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client(service, config=config)  # type: ignore[call-overload]
