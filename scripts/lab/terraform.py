"""Terraform for the lab: its environment (state and provider mirror under .lab), init, apply, outputs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from lab import settings, stack, tools
from lab.process import LabError, run, stamp_of


def environment() -> dict[str, str]:
    """The process environment for terraform: a CLI config naming the provider mirror, data under .lab."""
    tools.require_terraform()
    settings.LAB.mkdir(parents=True, exist_ok=True)
    cli_config = settings.LAB / "terraformrc"
    mirror = tools.find_terraform_mirror()
    cli_config.write_text(
        ""
        if mirror is None
        else f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_DATA_DIR": str(settings.LAB / "terraform-data"),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_INPUT": "0",
    }


def terraform(env: dict[str, str], *args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = ["terraform", f"-chdir={settings.TERRAFORM_DIR}", *args]
    if quiet:
        return run(cmd, quiet_log=settings.LOGS / f"terraform-{args[0]}.log", env=env)
    return run(cmd, env=env)


def init(env: dict[str, str]) -> None:
    """Init once per change of the configuration or the lock file (it takes seconds, apply runs often)."""

    def stamp() -> str:
        return stamp_of(
            settings.TERRAFORM_DIR / ".terraform.lock.hcl",
            *sorted(settings.TERRAFORM_DIR.rglob("*.tf")),
            Path(env["TF_CLI_CONFIG_FILE"]),
        )

    stamp_file = settings.LAB / "terraform-data" / ".lab-stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp():
        return
    backend = f"-backend-config=path={settings.TERRAFORM_STATE}"
    terraform(env, "init", "-input=false", backend, "-reconfigure", quiet=True)
    stamp_file.write_text(stamp())


def variables(mode: str, hot_reload_dir: str = "") -> list[str]:
    """-var flags: where LocalStack, the artifacts and Postgres are, as seen from the Lambdas of a mode;
    hot_reload_dir: the folder the functions run in place (empty: their zips)."""
    native = mode == "native"
    values = {
        "localstack_endpoint": settings.ENDPOINT,
        "artifacts_dir": str(settings.BUILD_DIR),
        "db_host": "127.0.0.1" if native else "postgres",
        "db_port": str(settings.PG_PORT if native else 5432),
        "layer_delivery": layer_delivery(mode),
        "architecture": architecture(),
        "db_name": settings.DB_NAME,
        "db_app_user": settings.APP_DB_USER,
        "db_app_password": settings.APP_DB_PASSWORD,
        "hot_reload_dir": hot_reload_dir,
    }
    return [f"-var={key}={value}" for key, value in values.items()]


def hot_reload_requested() -> bool:
    """HOT_RELOAD=1 (`make apply HOT_RELOAD=1`): the functions run lambdas/ in place; empty or 0: zips."""
    value = os.environ.get("HOT_RELOAD", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise LabError(f"HOT_RELOAD={value!r}: use HOT_RELOAD=1 to hot reload, or leave it unset for the zips")


def hot_reload_dir(mode: str) -> str:
    """The folder every hot-reloaded function runs (the repo's lambdas/, the handlers' import root):
    LocalStack's hot reload, so refused without a LocalStack endpoint (real AWS)."""
    if not settings.ENDPOINT:
        raise LabError(
            "hot reload is LocalStack's: no LocalStack endpoint is set (LOCALSTACK_ENDPOINT is empty)"
        )
    if mode == "native" and layer_delivery(mode) != "attach":
        raise LabError(
            "hot reload in native mode takes the dependencies from the layer: unset LAYER_DELIVERY"
        )
    return str(settings.ROOT / "lambdas")


def layer_delivery(mode: str) -> str:
    """attach (native LocalStack applies layers) or bundle (Community in Docker does not)."""
    return os.environ.get("LAYER_DELIVERY", "attach" if mode == "native" else "bundle")


def architecture() -> str:
    return stack.architecture()


# Above the default 10: every independent resource starts at once, so the slowest one (a queue,
# whose attributes the provider polls for ~25 s) is not queued behind quick ones.
PARALLELISM = 30


def apply(env: dict[str, str], mode: str, hot_reload_dir: str = "") -> None:
    flags = variables(mode, hot_reload_dir)
    terraform(env, "apply", "-auto-approve", "-input=false", f"-parallelism={PARALLELISM}", *flags)


def destroy(mode: str) -> None:
    env = environment()
    init(env)
    terraform(env, "destroy", "-auto-approve", "-input=false", *variables(mode))


def validate() -> None:
    """terraform validate, then terraform test: the LocalStack and AWS plans on a mocked provider, offline."""
    env = environment()
    init(env)
    terraform(env, "validate")
    with tempfile.TemporaryDirectory(prefix="lab-tftest-") as tmp:
        stand_in_artifacts(Path(tmp))
        terraform(env, "test", f"-var=artifacts_dir={tmp}")


def stand_in_artifacts(folder: Path) -> None:
    """Empty files where the plans read the zips' digests, so the tests need no build."""
    functions = sorted(handler.parent.name for handler in (settings.ROOT / "lambdas").glob("*/handler.py"))
    for arch in ("x86_64", "arm64"):
        (folder / f"layer-{arch}.zip").touch()
        for name in functions:
            (folder / f"{name}-bundled-{arch}.zip").touch()
    for name in functions:
        (folder / f"{name}.zip").touch()


def outputs(env: dict[str, str] | None = None) -> dict[str, Any]:
    """`terraform output -json` as {name: value}; a LabError when there is nothing deployed."""
    env = env or environment()
    out = subprocess.run(
        ["terraform", f"-chdir={settings.TERRAFORM_DIR}", "output", "-json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["terraform output failed"])[-1]
        raise LabError(f"no Terraform outputs (run `make apply`): {last}")
    return {key: value["value"] for key, value in json.loads(out.stdout).items()}


def runnable(line: str) -> str:
    """A printed command as it runs when pasted at the repo root (where `make` runs): the dev venv's
    awslocal named where it is, also when LAB_DIR moves the venv out of `.lab`."""
    awslocal = settings.VENV / "bin" / "awslocal"
    shown = awslocal.relative_to(settings.ROOT) if awslocal.is_relative_to(settings.ROOT) else awslocal
    return line.replace(".lab/venv/bin/awslocal", shlex.quote(str(shown)), 1)


def print_urls(env: dict[str, str] | None = None, found: dict[str, Any] | None = None) -> None:
    """The curl lines of the deployed stack, from `found` when the caller has the outputs already."""
    found = found if found is not None else outputs(env)
    print()
    print("Ready. Try:")
    examples: list[str] = found.get("curl_examples") or []
    for line in examples:
        print(f"  {runnable(line)}")
    print()
