"""Which function applies the messages of each topic: another topic is one `@topic(...)` away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import DictRow

TopicHandler = Callable[[psycopg.Connection[DictRow], dict[str, Any]], str]
HANDLERS: dict[str, TopicHandler] = {}


def topic(name: str) -> Callable[[TopicHandler], TopicHandler]:
    def register(handler: TopicHandler) -> TopicHandler:
        HANDLERS[name] = handler
        return handler

    return register
