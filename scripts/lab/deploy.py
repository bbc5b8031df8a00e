"""Deploying to the running lab: build the artifacts, migrate, apply; and whether this LocalStack has it."""

from __future__ import annotations

import concurrent.futures
import os
import time
from typing import Any

from lab import localstack, postgres, settings, stack, terraform, tools, venvs
from lab.process import LabError, run, say


def build(*, hot_reload: bool = False) -> None:
    """The layer and function zips (scripts/build.py in the dev venv; incremental); hot reloading
    without a layer (Docker mode), also the layer's dependencies in the folder mounted at /opt/python."""
    venvs.ensure_dev_venv()
    uv = venvs.ensure_uv(tools.find_python313())
    mode = stack.current_mode() or "native"
    delivery = terraform.layer_delivery(mode)
    deps = (
        ["--hot-reload-deps", str(settings.HOT_RELOAD_DEPS_DIR)]
        if hot_reload and delivery == "bundle"
        else []
    )
    run(
        [
            venvs.dev_python(),
            str(settings.ROOT / "scripts" / "build.py"),
            "--out",
            str(settings.BUILD_DIR),
            "--delivery",
            delivery,
            "--arch",
            terraform.architecture(),
            "--uv",
            uv,
            *deps,
        ]
    )


def migrate() -> None:
    stack.require_up()
    run(
        [venvs.dev_python(), str(settings.ROOT / "scripts" / "migrate.py")],
        env={**os.environ, **postgres.admin_env()},
    )


def apply() -> None:
    """Build, migrate and terraform apply to the running LocalStack, then print the curl lines.

    HOT_RELOAD=1: every function runs the repo's lambdas/ in place (LocalStack's hot reload); a
    plain apply afterwards goes back to the zips.
    """
    mode = stack.require_up()
    hot_reload = terraform.hot_reload_requested()
    hot_reload_dir = terraform.hot_reload_dir(mode) if hot_reload else ""
    started = time.monotonic()
    env = terraform.environment()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # init needs neither the zips nor the database: it runs while they are made.
        init = pool.submit(terraform.init, env)
        build(hot_reload=hot_reload)
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
    terraform.apply(env, mode, hot_reload_dir)
    settings.DEPLOYED_SESSION_FILE.write_text(session)
    say(f"applied in {time.monotonic() - started:.1f} s")
    if hot_reload:
        say(f"hot reload: the functions run {hot_reload_dir} in place; an edit there is live at the next")
        say("invocation, no deploy (`make apply` without HOT_RELOAD goes back to the zips)")
    deployed = terraform.outputs(env)
    start_dispatch(deployed)
    terraform.print_urls(found=deployed)


def start_dispatch(deployed: dict[str, Any]) -> None:
    """Rows committed while LocalStack was away (a restart loses the deployed stack) go out now, not
    at the dispatch schedule's first minute."""
    name = deployed.get("functions", {}).get("dispatcher")
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
