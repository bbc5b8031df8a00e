"""scripts/lab: mode and tool detection, venv stamps, and a one-line diagnosis for every bad setup."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import localstack, postgres, settings, stack, terraform, tools, venvs
from lab.process import LabError

LAB_PACKAGE = settings.ROOT / "scripts" / "lab"


@pytest.fixture
def bare_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH, HOME and pyenv root with nothing in them."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    for name in ("LAB_PYTHON313", "LAB_PG_BINDIR", "TF_PLUGIN_DIR", "LAB_MODE"):
        monkeypatch.delenv(name, raising=False)
    return empty


def executable(path: Path, script: str) -> Path:
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_no_python313_is_a_clear_error(bare_path: Path) -> None:
    with pytest.raises(LabError, match=r"Python 3\.13 not found.*LAB_PYTHON313"):
        tools.find_python313()


def test_python313_from_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.version_info[:2] != (3, 13):
        pytest.fail("the dev venv must run Python 3.13")
    monkeypatch.setenv("LAB_PYTHON313", sys.executable)
    assert tools.find_python313() == sys.executable


def test_no_postgres_binaries_is_a_clear_error(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    monkeypatch.setattr("os.geteuid", lambda: 1000)  # not root: nothing to install
    with pytest.raises(LabError, match=r"PostgreSQL server binaries .* not found"):
        tools.ensure_pg_bindir()


def test_postgres_binaries_from_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for tool in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / tool).touch()
    monkeypatch.setenv("LAB_PG_BINDIR", str(tmp_path))
    assert tools.find_pg_bindir() == tmp_path


@pytest.mark.parametrize("present", [("initdb",), ("initdb", "pg_ctl"), ("pg_ctl", "postgres")])
def test_a_folder_missing_a_postgres_binary_is_refused(
    present: tuple[str, ...], bare_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    partial = tmp_path / "client-only"
    partial.mkdir()
    for tool in present:
        (partial / tool).touch()
    monkeypatch.setenv("LAB_PG_BINDIR", str(partial))
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    with pytest.raises(LabError, match=r"no PostgreSQL server binaries \(initdb, pg_ctl, postgres\)"):
        tools.find_pg_bindir()


def test_no_terraform_is_a_clear_error(bare_path: Path) -> None:
    with pytest.raises(LabError, match="terraform not found on PATH"):
        terraform.environment()


def test_provider_mirror_is_detected_not_hard_coded(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"])
    mirror = home / ".terraform.d" / "plugins"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws" / settings.AWS_PROVIDER_VERSION).mkdir(
        parents=True
    )
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    assert tools.find_terraform_mirror() == mirror
    monkeypatch.setenv("TF_PLUGIN_DIR", "/somewhere/else")
    assert tools.find_terraform_mirror() == Path("/somewhere/else")


def test_no_mirror_means_registry_init(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    assert tools.find_terraform_mirror() is None


def test_mode_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_MODE", "native")
    assert stack.pick_mode() == "native"
    monkeypatch.setenv("LAB_MODE", "kubernetes")
    with pytest.raises(LabError, match="LAB_MODE must be docker or native"):
        stack.pick_mode()


def test_localstack_settings_are_shared_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQS_DISABLE_CLOUDWATCH_METRICS", raising=False)
    assert localstack.env_file_settings()["SQS_DISABLE_CLOUDWATCH_METRICS"] == "1"
    monkeypatch.setenv("SQS_DISABLE_CLOUDWATCH_METRICS", "0")
    assert localstack.env_file_settings()["SQS_DISABLE_CLOUDWATCH_METRICS"] == "0"


def test_unhealthy_localstack_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with closed_port() as port:
        monkeypatch.setattr(settings, "ENDPOINT", f"http://127.0.0.1:{port}")
        with pytest.raises(LabError, match=r"LocalStack is not healthy after 1 s"):
            localstack.wait_healthy(timeout=1)


@pytest.fixture
def fake_uv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A lab in tmp_path whose uv only records its arguments (one line per call) and makes venv dirs."""
    lab = tmp_path / "lab"
    calls = tmp_path / "uv-calls"
    for name, value in {
        "LAB": lab,
        "LOGS": lab / "logs",
        "UV_DIR": lab / "uv",
        "UV": lab / "uv" / "bin" / "uv",
        "VENV": lab / "venv",
        "RUNTIME_VENV": lab / "runtimes" / "python3.13",
        "LOCALSTACK_VENV": lab / "localstack",
    }.items():
        monkeypatch.setattr(settings, name, value)
    settings.UV.parent.mkdir(parents=True)
    executable(
        settings.UV, f'echo "$@" >> {calls}\n[ "$1" = venv ] && mkdir -p "$4/bin" && touch "$4/bin/python"\n:'
    )
    (settings.UV_DIR / ".lab-stamp").write_text(settings.UV_VERSION)  # uv counts as installed
    executor = tmp_path / "localstack-native"
    shutil.copytree(settings.EXECUTOR_DIR, executor, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    monkeypatch.setattr(settings, "EXECUTOR_DIR", executor)
    monkeypatch.setattr(tools, "find_python313", lambda: "/opt/python3.13")
    return calls


def uv_calls(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def test_native_venvs_install_the_pinned_groups_and_constraints_with_uv(fake_uv: Path) -> None:
    venvs.ensure_native_venvs()
    lab = settings.LAB
    pip = f"pip=={settings.PIP_VERSION}"
    assert uv_calls(fake_uv) == [
        f"venv --python /opt/python3.13 {lab}/venv",
        f"pip install --python {lab}/venv/bin/python {pip}",
        f"pip install --python {lab}/venv/bin/python --group {settings.PYPROJECT}:dev",
        f"venv --python /opt/python3.13 {lab}/runtimes/python3.13",
        f"pip install --python {lab}/runtimes/python3.13/bin/python {pip}",
        f"pip install --python {lab}/runtimes/python3.13/bin/python --group {settings.PYPROJECT}:runtime",
        f"venv --python /opt/python3.13 {lab}/localstack",
        f"pip install --python {lab}/localstack/bin/python {pip}",
        f"pip install --python {lab}/localstack/bin/python"
        f" localstack-core[runtime]=={settings.LOCALSTACK_VERSION}"
        f" --constraints {settings.LOCALSTACK_CONSTRAINTS}",
        f"pip install --python {lab}/localstack/bin/python --no-deps --reinstall {lab}/executor-src",
    ]
    assert (lab / "executor-src" / "localstack_native" / "lambda_executor.py").is_file()


def test_venvs_are_reinstalled_only_when_their_inputs_change(fake_uv: Path) -> None:
    venvs.ensure_native_venvs()
    fake_uv.unlink()
    venvs.ensure_native_venvs()
    assert uv_calls(fake_uv) == [], "nothing changed, yet uv ran"

    with (settings.EXECUTOR_DIR / "localstack_native" / "plugins.py").open("a") as source:
        source.write("# changed\n")
    venvs.ensure_native_venvs()
    installed = {call.split()[3] for call in uv_calls(fake_uv) if call.startswith("pip install")}
    assert installed == {f"{settings.LOCALSTACK_VENV}/bin/python"}


@contextlib.contextmanager
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def lab_command(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python scripts/lab ...` in a scratch lab dir, with no Python 3.13 to find: should the port
    check of `up` ever regress, it fails on that at once instead of installing venvs and starting services."""
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path),
        "LAB_DIR": str(tmp_path / "lab"),
        "LAB_MODE": "native",
    }
    return subprocess.run(
        [sys.executable, str(LAB_PACKAGE), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_up_with_postgres_port_taken_says_so_in_one_line(tmp_path: Path) -> None:
    with listening_port() as pg_port, closed_port() as localstack_port:
        result = lab_command(
            tmp_path, "up", LAB_PG_PORT=str(pg_port), LAB_LOCALSTACK_PORT=str(localstack_port)
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"lab: port {pg_port} (Postgres) is already in use: stop what holds it or set LAB_PG_PORT"
    )


def test_up_with_localstack_port_taken_says_so_in_one_line(tmp_path: Path) -> None:
    with listening_port() as localstack_port, closed_port() as pg_port:
        result = lab_command(
            tmp_path, "up", LAB_PG_PORT=str(pg_port), LAB_LOCALSTACK_PORT=str(localstack_port)
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"lab: port {localstack_port} is already in use (another LocalStack?): stop it first (`make down`)"
    )


def test_localstack_port_defaults_to_4566(tmp_path: Path) -> None:
    result = lab_command(tmp_path, "env")
    assert result.returncode == 0, result.stderr
    assert "export LOCALSTACK_ENDPOINT=http://localhost:4566\n" in result.stdout


@pytest.mark.parametrize("failing", ["venvs", "localstack"])
@pytest.mark.parametrize("postgres_was_up", [False, True])
def test_a_failed_up_stops_only_the_postgres_it_started(
    failing: str, postgres_was_up: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    def step(name: str) -> None:
        if name == failing:
            raise LabError(f"{name} failed")
        events.append(name)

    monkeypatch.setattr(postgres, "start", lambda: events.append("postgres started"))
    monkeypatch.setattr(postgres, "stop", lambda: events.append("postgres stopped"))
    monkeypatch.setattr(venvs, "ensure_native_venvs", lambda: step("venvs"))
    monkeypatch.setattr(localstack, "start", lambda: step("localstack"))
    with pytest.raises(LabError, match=f"{failing} failed"):
        stack.start_native(postgres_up=postgres_was_up, localstack_up=False)
    started_here = [] if postgres_was_up else ["postgres started"]
    stopped_here = [] if postgres_was_up else ["postgres stopped"]
    before_failure = ["venvs"] if failing == "localstack" else []
    assert sorted(events) == sorted(started_here + before_failure + stopped_here)
    if not postgres_was_up:
        assert events[-1] == "postgres stopped"
