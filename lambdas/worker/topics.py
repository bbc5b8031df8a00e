"""Which function applies the messages of each topic: the worker's routing table, in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import DictRow

from labcore import topics
from worker import conversion

TopicHandler = Callable[[psycopg.Connection[DictRow], dict[str, Any]], str]

HANDLERS: dict[str, TopicHandler] = {
    topics.CONVERSION_JOBS: conversion.complete_job,
}
