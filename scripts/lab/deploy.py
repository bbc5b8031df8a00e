"""Deploying to the running lab: build the artifacts, migrate, apply; and whether this LocalStack has it."""

from __future__ import annotations

import concurrent.futures
import os
import time
from typing import Any

from lab import localstack, postgres, settings, stack, terraform, tools, venvs
from lab.process import LabError, run, say


def build() -> None:
    """The layer and function zips (scripts/build.py in the dev venv; incremental)."""
    venvs.ensure_dev_venv()
    uv = venvs.ensure_uv(tools.find_python313())
    mode = stack.current_mode() or "native"
    run(
        [
            venvs.dev_python(),
            str(settings.ROOT / "scripts" / "build.py"),
            "--out",
            str(settings.BUILD_DIR),
            "--delivery",
            terraform.layer_delivery(mode),
            "--arch",
            terraform.architecture(),
            "--uv",
            uv,
        ]
    )


def migrate() -> None:
    stack.require_up()
    run(
        [venvs.dev_python(), str(settings.ROOT / "scripts" / "migrate.py")],
        env={**os.environ, **postgres.admin_env()},
    )


def apply() -> None:
    """Build, migrate and terraform apply to the running LocalStack, then print the curl lines."""
    mode = stack.require_up()
    started = time.monotonic()
    env = terraform.environment()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # init needs neither the zips nor the database: it runs while they are made.
        init = pool.submit(terraform.init, env)
        build()
        migrate()
        init.result()
    session = localstack.session()
    session_file = settings.LOCALSTACK_SESSION_FILE
    if session_file.exists() and session_file.read_text() != session:
        say("LocalStack restarted since the last apply: discarding the stale Terraform state")
        settings.TERRAFORM_STATE.unlink(missing_ok=True)
        settings.TERRAFORM_STATE_BACKUP.unlink(missing_ok=True)
    session_file.write_text(session)  # the state now describes this LocalStack, even if apply fails
    settings.DEPLOYED_SESSION_FILE.unlink(missing_ok=True)
    terraform.apply(env, mode)
    settings.DEPLOYED_SESSION_FILE.write_text(session)
    say(f"applied in {time.monotonic() - started:.1f} s")
    start_dispatch(env)
    terraform.print_urls(env)


def start_dispatch(env: dict[str, str]) -> None:
    """Rows committed while LocalStack was away (a restart loses the deployed stack) go out now, not
    at the dispatch schedule's first minute."""
    name = terraform.outputs(env).get("functions", {}).get("dispatcher")
    if name:
        run([venvs.dev_python(), str(settings.ROOT / "scripts" / "labtools.py"), "start-dispatch", name])


def destroy() -> None:
    terraform.destroy(stack.require_up())


def check_deployed() -> dict[str, Any]:
    """The Terraform outputs, once the lab is up and deployed to this LocalStack; else a LabError.

    Outputs alone are no proof: after a LocalStack restart they describe a stack that is gone.
    """
    stack.require_up()
    deployed = settings.DEPLOYED_SESSION_FILE
    if not deployed.exists() or deployed.read_text() != localstack.session():
        raise LabError("nothing is deployed to this LocalStack: run `make apply`")
    return terraform.outputs()
