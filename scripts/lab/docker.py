"""Docker mode: Postgres and LocalStack as the Compose project `outbox-lab` (docker-compose.yml)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass

from lab import settings
from lab.process import LabError, run, say

PROBE_TIMEOUT_S = 20
# LocalStack names each Lambda container `<its own container's name>-lambda-<function>-<id>`;
# Compose names LocalStack's container `<project>-localstack-1`.
LAMBDA_CONTAINER_PREFIX = f"{settings.COMPOSE_PROJECT}-localstack-1-lambda-"
# `docker info` reports the kernel's name for the machine; Lambda and Terraform call them these.
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Probe:
    """What Docker mode needs of this machine: an engine that answers and Compose v2 with `--wait`."""

    engine: str | None  # the engine's version, None when `docker info` fails
    compose: str | None  # Compose's version, None when `docker compose` is missing
    compose_waits: bool  # `docker compose up` has `--wait` (what `make up` waits with)
    problem: str  # empty when Docker mode can be used, else why not (one line)

    @property
    def usable(self) -> bool:
        return not self.problem


def docker_output(*args: str) -> str | None:
    """`docker ARGS` stdout (stripped), or None when docker is missing, fails or does not answer."""
    if not shutil.which("docker"):
        return None
    try:
        out = subprocess.run(
            ["docker", *args], capture_output=True, text=True, check=False, timeout=PROBE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        say(f"`docker {' '.join(args)}` did not answer in {PROBE_TIMEOUT_S} s")
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def probe() -> Probe:
    """Ask the docker CLI for its engine and Compose; nothing is started."""
    if not shutil.which("docker"):
        return Probe(None, None, False, "no docker CLI on PATH")
    engine = docker_output("info", "--format", "{{.ServerVersion}}")
    if not engine:
        return Probe(None, None, False, "`docker info` fails: no Docker engine answers")
    compose = docker_output("compose", "version", "--short")
    if not compose:
        return Probe(engine, None, False, "`docker compose` is missing: install the Compose v2 plugin")
    version = compose.removeprefix("v")
    major = re.match(r"\d+", version)
    if major is None or int(major.group()) < 2:
        return Probe(engine, version, False, f"Compose {version} is too old: Docker mode needs Compose v2")
    waits = "--wait" in (docker_output("compose", "up", "--help") or "")
    if not waits:
        return Probe(engine, version, False, f"Compose {version} has no `up --wait`: update Compose v2")
    return Probe(engine, version, True, "")


def engine_architecture() -> str:
    """The Docker engine's architecture as Lambda names it (x86_64 or arm64): its Lambdas run natively."""
    reported = docker_output("info", "--format", "{{.Architecture}}")
    if reported is None:
        raise LabError("`docker info` does not answer: cannot tell the engine's architecture")
    if reported not in ARCHITECTURES:
        raise LabError(f"the Docker engine runs on {reported!r}: Lambda has x86_64 and arm64 only")
    return ARCHITECTURES[reported]


def compose(*args: str) -> list[str]:
    return ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "-p", settings.COMPOSE_PROJECT, *args]


def up() -> None:
    """Start both services; `--wait` returns once their healthchecks pass (nothing else waits for them)."""
    if settings.LOCALSTACK_PORT != settings.DEFAULT_LOCALSTACK_PORT:
        raise LabError(
            f"Docker mode publishes LocalStack on {settings.DEFAULT_LOCALSTACK_PORT} (docker-compose.yml):"
            " unset LAB_LOCALSTACK_PORT"
        )
    run(compose("up", "-d", "--wait"), env=compose_environment())


def compose_environment() -> dict[str, str]:
    """The environment docker-compose.yml interpolates: the lab's Postgres port, the Lambda mounts."""
    # Created here, by the user: a bind source the engine has to create would belong to root.
    settings.HOT_RELOAD_DEPS_DIR.mkdir(parents=True, exist_ok=True)
    # LocalStack splits LAMBDA_DOCKER_FLAGS with shlex: quoted, a path with spaces stays one argument.
    flags = "-v " + shlex.quote(f"{settings.HOT_RELOAD_DEPS_DIR}:/opt/python:ro")
    return {
        **os.environ,
        "LAB_PG_PORT": str(settings.PG_PORT),
        "LAMBDA_DOCKER_FLAGS": os.environ.get("LAMBDA_DOCKER_FLAGS") or flags,
    }


def lambda_containers() -> list[str]:
    """Ids of the Lambda containers LocalStack started (running or not)."""
    found = docker_output("ps", "-aq", "--filter", f"name={LAMBDA_CONTAINER_PREFIX}")
    return found.split() if found else []


def down(*, volumes: bool = False) -> None:
    """Stop LocalStack first (it removes its Lambda containers), remove any it left, then the project.

    A Lambda container still attached to the `outbox-lab` network keeps `down` from removing it.
    """
    run(compose("stop", "localstack"))
    if leftovers := lambda_containers():
        say(f"removing {len(leftovers)} Lambda container(s) LocalStack left behind")
        run(["docker", "rm", "-f", *leftovers])
    run(compose("down", *(["-v"] if volumes else []), "--remove-orphans"))


def stop_service(name: str) -> None:
    run(compose("stop", name))


def logs(lines: int) -> None:
    run(compose("logs", "--tail", str(lines)))
