"""The lab's three Python 3.13 venvs (dev tools, the Lambda runtime, LocalStack), installed by a pinned uv.

uv itself comes from PyPI, installed by Python 3.13's own pip into .lab/uv. Each venv is reinstalled
only when the stamp of its inputs (dependency groups, constraints, versions, executor sources) changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

from lab import settings, tools
from lab.process import run, say, stamp_of

# A change of installer reinstalls every venv.
INSTALLER_PINS = (f"uv=={settings.UV_VERSION}", f"pip=={settings.PIP_VERSION}")


def ensure_uv(python: str) -> str:
    """The pinned uv, from PyPI: installed with Python 3.13's pip, or a bootstrap venv's where it has none."""
    uv = settings.UV
    stamp_file = settings.UV_DIR / ".lab-stamp"
    if uv.exists() and stamp_file.exists() and stamp_file.read_text() == settings.UV_VERSION:
        return str(uv)
    log = settings.LOGS / "uv.log"
    started = time.monotonic()
    installer = python
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode != 0:
        bootstrap = settings.LAB / "uv-bootstrap"
        run([python, "-m", "venv", str(bootstrap)], quiet_log=log)
        installer = str(bootstrap / "bin" / "python")
    shutil.rmtree(settings.UV_DIR, ignore_errors=True)
    run(
        [
            installer,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
            str(settings.UV_DIR),
            f"uv=={settings.UV_VERSION}",
        ],
        quiet_log=log,
    )
    stamp_file.write_text(settings.UV_VERSION)
    say(f"uv {settings.UV_VERSION} installed from PyPI in {time.monotonic() - started:.0f} s")
    return str(uv)


def dependency_groups() -> str:
    """The project's dependency groups: what the venvs install (tool settings do not count)."""
    groups = tomllib.loads(settings.PYPROJECT.read_text())["dependency-groups"]
    return json.dumps(groups, sort_keys=True)


def is_current(path: Path, stamp: str) -> bool:
    stamp_file = path / ".lab-stamp"
    return stamp_file.exists() and stamp_file.read_text() == stamp


def ensure_venv(path: Path, python: str, install: list[list[str]], stamp: str, label: str) -> None:
    """Create or refresh a venv with uv; skipped when the stamp of its inputs is unchanged."""
    if is_current(path, stamp):
        return
    shown = path.relative_to(settings.ROOT) if path.is_relative_to(settings.ROOT) else path
    say(f"installing {label} into {shown}")
    started = time.monotonic()
    uv = ensure_uv(python)
    log = settings.LOGS / f"venv-{path.name}.log"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}  # the Python found here, never one uv fetches
    if not (path / "bin" / "python").exists():
        shutil.rmtree(path, ignore_errors=True)  # a half-made venv: uv refuses to create over it
        run([uv, "venv", "--python", python, str(path)], quiet_log=log, env=env)
    uv_pip = [uv, "pip", "install", "--python", str(path / "bin" / "python")]
    for args in [[f"pip=={settings.PIP_VERSION}"], *install]:
        run([*uv_pip, *args], quiet_log=log, env=env)
    (path / ".lab-stamp").write_text(stamp)
    say(f"{label} ready in {time.monotonic() - started:.0f} s")


def ensure_dev_venv(python: str | None = None) -> None:
    ensure_venv(
        settings.VENV,
        python or tools.find_python313(),
        [["--group", f"{settings.PYPROJECT}:dev"]],
        stamp_of(dependency_groups(), *INSTALLER_PINS),
        "dev tools",
    )


def ensure_native_venvs() -> None:
    """The dev venv, the Lambda runtime, and LocalStack with the native Lambda executor."""
    python = tools.find_python313()
    ensure_dev_venv(python)
    ensure_venv(
        settings.RUNTIME_VENV,
        python,
        [["--group", f"{settings.PYPROJECT}:runtime"]],
        stamp_of(dependency_groups(), *INSTALLER_PINS),
        f"the Lambda {settings.RUNTIME} runtime",
    )
    executor = settings.EXECUTOR_DIR
    executor_files = [*sorted((executor / "localstack_native").glob("*.py")), executor / "pyproject.toml"]
    stamp = stamp_of(
        settings.LOCALSTACK_CONSTRAINTS, settings.LOCALSTACK_VERSION, *INSTALLER_PINS, *executor_files
    )
    if is_current(settings.LOCALSTACK_VENV, stamp):
        return
    # Installed from a copy: building in place would leave build/ and .egg-info in the repo.
    executor_copy = settings.LAB / "executor-src"
    shutil.rmtree(executor_copy, ignore_errors=True)
    shutil.copytree(
        executor, executor_copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    ensure_venv(
        settings.LOCALSTACK_VENV,
        python,
        [
            [
                f"localstack-core[runtime]=={settings.LOCALSTACK_VERSION}",
                "--constraints",
                str(settings.LOCALSTACK_CONSTRAINTS),
            ],
            # Not editable: LocalStack must run the executor as committed; --reinstall rebuilds the copy.
            ["--no-deps", "--reinstall", str(executor_copy)],
        ],
        stamp,
        f"LocalStack {settings.LOCALSTACK_VERSION} with the native Lambda executor",
    )


def dev_python() -> str:
    return str(settings.VENV / "bin" / "python")
