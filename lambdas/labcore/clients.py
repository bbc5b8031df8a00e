"""AWS clients, created on first use and reused by every warm invocation of the environment."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def client(service: str) -> Any:
    import boto3  # deferred: boto3 costs ~100 ms to import, and not every cold path needs it

    return boto3.client(service)  # type: ignore[call-overload]
