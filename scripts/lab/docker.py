"""Docker mode: Postgres and LocalStack as the Compose project `outbox-lab` (docker-compose.yml)."""

from __future__ import annotations

import os

from lab import settings
from lab.process import LabError, run


def compose(*args: str) -> list[str]:
    return ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "-p", "outbox-lab", *args]


def up() -> None:
    """Start both services; `--wait` returns once their healthchecks pass (nothing else waits for them)."""
    if settings.LOCALSTACK_PORT != settings.DEFAULT_LOCALSTACK_PORT:
        raise LabError(
            f"Docker mode publishes LocalStack on {settings.DEFAULT_LOCALSTACK_PORT} (docker-compose.yml):"
            " unset LAB_LOCALSTACK_PORT"
        )
    run(compose("up", "-d", "--wait"), env={**os.environ, "LAB_PG_PORT": str(settings.PG_PORT)})


def down(*, volumes: bool = False) -> None:
    """Stop and remove the containers; with volumes, Postgres data goes too."""
    run(compose("down", *(["-v"] if volumes else []), "--remove-orphans"))


def stop_service(name: str) -> None:
    run(compose("stop", name))


def logs(lines: int) -> None:
    run(compose("logs", "--tail", str(lines)))
