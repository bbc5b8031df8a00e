"""The `lab` command line (the Makefile's targets call it): one subcommand per action, `lab:` diagnoses."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable

from lab import deploy, docker, postgres, settings, stack, terraform, venvs
from lab.process import LabError


def show_logs(args: argparse.Namespace) -> None:
    """LocalStack's and Postgres' logs, or with --function a Lambda's CloudWatch log (via the dev venv)."""
    if args.function:
        labtools = settings.ROOT / "scripts" / "labtools.py"
        cmd = [venvs.dev_python(), str(labtools), "function-logs", args.function, "--lines", str(args.lines)]
        # labtools prints its own `lab:` line on failure: pass its status on without a second one.
        if (status := subprocess.run(cmd, check=False).returncode) != 0:
            sys.exit(status)
        return
    if stack.current_mode() == "docker":
        docker.logs(args.lines)
        return
    for path in (settings.LOCALSTACK_LOG, postgres.log_file()):
        if path.exists():
            print(f"==> {path} <==")
            print("\n".join(path.read_text(errors="replace").splitlines()[-args.lines :]))


def print_env() -> None:
    """Print the settings tests and tools read (shell syntax)."""
    values = {**postgres.admin_env(), "LOCALSTACK_ENDPOINT": settings.ENDPOINT, "LAB_DIR": str(settings.LAB)}
    for key, value in values.items():
        print(f"export {key}={shlex.quote(value)}")


COMMANDS: dict[str, tuple[Callable[[], object], str]] = {
    "up": (stack.up, "start Postgres + LocalStack (LAB_MODE=docker|native to force a mode)"),
    "down": (stack.down, "stop everything the lab started"),
    "apply": (deploy.apply, "build, migrate, terraform apply, print curl lines"),
    "destroy": (deploy.destroy, "terraform destroy the deployed stack"),
    "build": (deploy.build, "build the layer and function zips"),
    "migrate": (deploy.migrate, "apply db/migrations to the lab's Postgres"),
    "outputs": (lambda: print(json.dumps(terraform.outputs(), indent=2)), "print the Terraform outputs"),
    "urls": (terraform.print_urls, "print the curl lines of the deployed stack"),
    "env": (print_env, "print the settings tests and tools read (shell syntax)"),
    "doctor": (stack.doctor, "check the machine's prerequisites without starting anything"),
    "venv": (venvs.ensure_dev_venv, "install the dev tools into .lab/venv"),
    "check-deployed": (deploy.check_deployed, "fail unless the stack is deployed to this LocalStack"),
    "validate": (terraform.validate, "terraform validate"),
    "clean": (stack.clean, "down, then delete .lab/ (venvs, build cache, Postgres data, state)"),
    "stop-localstack": (stack.stop_localstack, "stop LocalStack only (what a crash does)"),
    "stop-postgres": (stack.stop_postgres, "stop Postgres only (an outage); `make up` starts it again"),
}


def parser() -> argparse.ArgumentParser:
    description = (sys.modules["lab"].__doc__ or "").split("\n")[0]
    root = argparse.ArgumentParser(prog="lab", description=description)
    sub = root.add_subparsers(dest="command", required=True)
    for name, (command, text) in COMMANDS.items():
        sub.add_parser(name, help=text).set_defaults(func=lambda _, command=command: command())
    logs = sub.add_parser("logs", help="tail LocalStack and Postgres logs, or a Lambda's CloudWatch log")
    logs.add_argument("--lines", type=int, default=100)
    logs.add_argument("--function", help="a Lambda's name: show its CloudWatch log instead")
    logs.set_defaults(func=show_logs)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    func: Callable[[argparse.Namespace], object] = args.func
    try:
        func(args)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        sys.exit(1)
    except subprocess.CalledProcessError as exc:
        print(f"lab: `{shlex.join(exc.cmd)}` failed with status {exc.returncode}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
