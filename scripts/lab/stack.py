"""The lab's services in either mode: which mode, up (start what is not running), down, clean."""

from __future__ import annotations

import concurrent.futures
import os
import platform
import shutil
import time
from collections.abc import Callable

from lab import docker, localstack, postgres, settings, tools, venvs
from lab.process import LabError, say

MODES = ("docker", "native")


def current_mode() -> str | None:
    """The mode the lab is up in (written by `up`, removed by `down`), or None."""
    return settings.MODE_FILE.read_text().strip() if settings.MODE_FILE.exists() else None


def pick_mode() -> str:
    """LAB_MODE when set; else docker when Docker mode can run here (see `docker.probe`), else native."""
    return mode_and_reason()[0]


def mode_and_reason() -> tuple[str, str]:
    """The mode `up` would use, and why (one line)."""
    forced = os.environ.get("LAB_MODE", "").strip()
    if forced:
        if forced not in MODES:
            raise LabError(f"LAB_MODE must be docker or native, not {forced!r}")
        if forced == "docker" and not (found := docker.probe()).usable:
            raise LabError(f"LAB_MODE=docker, but {found.problem}")
        return forced, "forced by LAB_MODE"
    found = docker.probe()
    if found.usable:
        return "docker", f"Docker engine {found.engine} with Compose {found.compose} answers"
    return "native", found.problem


def architecture() -> str:
    """The Lambdas' architecture: LAMBDA_ARCH; else the one `up` picked; else the mode's default."""
    if forced := os.environ.get("LAMBDA_ARCH", "").strip():
        return forced
    if settings.ARCHITECTURE_FILE.exists():
        return settings.ARCHITECTURE_FILE.read_text().strip()
    return default_architecture(current_mode() or "native")


def default_architecture(mode: str) -> str:
    """Docker mode: the engine's (x86_64 Lambdas on an arm64 engine run emulated, if at all)."""
    return docker.engine_architecture() if mode == "docker" else settings.NATIVE_ARCHITECTURE


def check_ports_free(*, postgres: bool = True, localstack: bool = True) -> None:
    port = settings.PG_PORT
    if postgres and tools.port_in_use("127.0.0.1", port):
        raise LabError(f"port {port} (Postgres) is already in use: stop what holds it or set LAB_PG_PORT")
    port = settings.LOCALSTACK_PORT
    if localstack and tools.port_in_use("127.0.0.1", port):
        raise LabError(f"port {port} is already in use (another LocalStack?): stop it first (`make down`)")


def up() -> None:
    """Start Postgres and LocalStack (installing what they need first); what already runs is kept."""
    mode, reason = mode_and_reason()
    started = time.monotonic()
    settings.LAB.mkdir(parents=True, exist_ok=True)
    if current_mode() and current_mode() != mode:
        raise LabError(f"the lab is up in {current_mode()} mode: `make down` first")
    say(f"mode: {mode} ({reason})")
    if mode == "docker":
        venvs.ensure_dev_venv()
        docker.up()
    else:
        # Start what is not running: after LocalStack died, `make up` brings back just LocalStack.
        pg_up, ls_up = postgres.running(), localstack.running()
        if ls_up:
            localstack.wait_healthy(timeout=10)
        if pg_up and ls_up:
            say("native stack already running")
            record(mode)
            return
        check_ports_free(postgres=not pg_up, localstack=not ls_up)
        start_native(postgres_up=pg_up, localstack_up=ls_up)
    record(mode)
    elapsed = time.monotonic() - started
    say(f"up in {elapsed:.1f} s: LocalStack {settings.ENDPOINT}, Postgres 127.0.0.1:{settings.PG_PORT}")


def record(mode: str) -> None:
    """Write down the mode and the Lambdas' architecture: apply, tests and benchmarks read them."""
    settings.MODE_FILE.write_text(mode)
    arch = os.environ.get("LAMBDA_ARCH", "").strip() or default_architecture(mode)
    settings.ARCHITECTURE_FILE.write_text(arch)
    say(f"Lambda architecture: {arch}")


def start_native(*, postgres_up: bool, localstack_up: bool) -> None:
    """Start what is not running; Postgres needs no venv, so it starts while the venvs install.

    On any failure the Postgres started here is stopped again: no half-started lab is left behind.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        postgres_start = None if postgres_up else pool.submit(postgres.start)
        try:
            venvs.ensure_native_venvs()
            if postgres_start is not None:
                postgres_start.result()
            if not localstack_up:
                localstack.start()
        except BaseException:
            if postgres_start is not None:
                concurrent.futures.wait([postgres_start])
                postgres.stop()
            raise


def down() -> None:
    """Stop everything the lab started; LocalStack state goes, Postgres data stays."""
    if current_mode() == "docker":
        docker.down()
    else:
        localstack.stop()
        postgres.stop()
    settings.MODE_FILE.unlink(missing_ok=True)
    settings.ARCHITECTURE_FILE.unlink(missing_ok=True)
    # LocalStack state is gone: the Terraform state describes nothing any more.
    for stale in (
        settings.TERRAFORM_STATE,
        settings.TERRAFORM_STATE_BACKUP,
        settings.LOCALSTACK_SESSION_FILE,
        settings.DEPLOYED_SESSION_FILE,
    ):
        stale.unlink(missing_ok=True)
    shutil.rmtree(settings.LAB / "tmp", ignore_errors=True)
    say("down")


def stop_localstack() -> None:
    """Stop LocalStack only (native): what a crash or restart does; `make up apply` recovers."""
    localstack.stop()
    say("LocalStack stopped; Postgres still runs")


def stop_postgres() -> None:
    """Stop Postgres only, in either mode (what an outage does); `make up` starts it again."""
    if current_mode() == "docker":
        docker.stop_service("postgres")
    else:
        postgres.stop()
    say("Postgres stopped; LocalStack still runs")


def clean() -> None:
    """Down, then delete everything the lab keeps: Postgres data, venvs, build cache, state."""
    if current_mode() == "docker":
        docker.down(volumes=True)
    down()
    data = settings.PG_DIR
    if data.is_symlink():
        shutil.rmtree(data.resolve(), ignore_errors=True)
    shutil.rmtree(settings.LAB, ignore_errors=True)
    say(f"removed {settings.LAB}")


def require_up() -> str:
    """The mode the lab is up in, once LocalStack answers; else a one-line diagnosis."""
    mode = current_mode()
    if mode is None:
        raise LabError("the lab is not up: run `make up` first")
    localstack.require_answering()
    return mode


def prerequisites(mode: str) -> dict[str, Callable[[], str]]:
    """What `up` and `apply` need in a mode, each a check that returns what it found or raises."""
    common: dict[str, Callable[[], str]] = {
        # Both modes: the dev venv (build, migrations, tests) is Python 3.13; Terraform deploys.
        "python3.13": tools.find_python313,
        "terraform": tools.require_terraform,
        "provider mirror": lambda: str(tools.find_terraform_mirror() or "none (registry init)"),
    }
    if mode == "native":
        return {"postgres binaries": lambda: str(tools.find_pg_bindir()), **common}
    found = docker.probe()

    def engine() -> str:
        if found.engine is None:
            raise LabError(found.problem)
        return f"{found.engine}, {docker.engine_architecture()}"

    def compose() -> str:
        if not found.usable:
            raise LabError(found.problem)
        return f"{found.compose}, up --wait"

    return {"docker engine": engine, "compose v2": compose, **common}


def doctor() -> None:
    """Check the prerequisites of the mode `make up` would use, without starting anything."""
    forced = os.environ.get("LAB_MODE", "").strip()
    if forced == "docker":
        mode, reason = forced, "forced by LAB_MODE"
    else:
        mode, reason = mode_and_reason()
    say(f"mode would be {mode} ({reason}); machine {platform.machine()}")
    failed = False
    for name, check in prerequisites(mode).items():
        try:
            print(f"  ok  {name}: {check()}")
        except LabError as exc:
            failed = True
            print(f"  --  {name}: {exc}")
    if failed:
        raise LabError(f"prerequisites of {mode} mode missing (see above)")
