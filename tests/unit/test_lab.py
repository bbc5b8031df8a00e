"""scripts/lab.py: mode and tool detection, and a one-line diagnosis for every bad setup."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lab

LAB_PY = Path(lab.__file__)


@pytest.fixture
def bare_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH, HOME and pyenv root with nothing in them."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    for name in ("LAB_PYTHON313", "LAB_PG_BINDIR", "TF_PLUGIN_DIR"):
        monkeypatch.delenv(name, raising=False)
    return empty


def test_no_python313_is_a_clear_error(bare_path: Path) -> None:
    with pytest.raises(lab.LabError, match=r"Python 3\.13 not found.*LAB_PYTHON313"):
        lab.find_python313()


def test_python313_from_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.version_info[:2] != (3, 13):
        pytest.fail("the dev venv must run Python 3.13")
    monkeypatch.setenv("LAB_PYTHON313", sys.executable)
    assert lab.find_python313() == sys.executable


def test_no_postgres_binaries_is_a_clear_error(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    monkeypatch.setattr("os.geteuid", lambda: 1000)  # not root: nothing to install
    with pytest.raises(lab.LabError, match=r"PostgreSQL server binaries .* not found"):
        lab.ensure_pg_bindir()


def test_postgres_binaries_from_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for tool in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / tool).touch()
    monkeypatch.setenv("LAB_PG_BINDIR", str(tmp_path))
    assert lab.find_pg_bindir() == tmp_path


def test_no_terraform_is_a_clear_error(bare_path: Path) -> None:
    with pytest.raises(lab.LabError, match="terraform not found on PATH"):
        lab.terraform_env()


def test_provider_mirror_is_detected_not_hard_coded(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"])
    mirror = home / ".terraform.d" / "plugins"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws" / lab.AWS_PROVIDER_VERSION).mkdir(parents=True)
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    assert lab.find_terraform_mirror() == mirror
    monkeypatch.setenv("TF_PLUGIN_DIR", "/somewhere/else")
    assert lab.find_terraform_mirror() == Path("/somewhere/else")


def test_no_mirror_means_registry_init(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    assert lab.find_terraform_mirror() is None


def test_mode_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_MODE", "native")
    assert lab.pick_mode() == "native"
    monkeypatch.setenv("LAB_MODE", "kubernetes")
    with pytest.raises(lab.LabError, match="LAB_MODE must be docker or native"):
        lab.pick_mode()


def test_localstack_settings_are_shared_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQS_DISABLE_CLOUDWATCH_METRICS", raising=False)
    assert lab.localstack_settings()["SQS_DISABLE_CLOUDWATCH_METRICS"] == "1"
    monkeypatch.setenv("SQS_DISABLE_CLOUDWATCH_METRICS", "0")
    assert lab.localstack_settings()["SQS_DISABLE_CLOUDWATCH_METRICS"] == "0"


def test_unhealthy_localstack_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with closed_port() as port:
        monkeypatch.setattr(lab, "ENDPOINT", f"http://127.0.0.1:{port}")
        with pytest.raises(lab.LabError, match=r"LocalStack is not healthy after 1 s"):
            lab.wait_localstack_healthy(timeout=1)


@contextlib.contextmanager
def listening_port(port: int = 0) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock.getsockname()[1]


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def lab_up(tmp_path: Path, pg_port: int) -> subprocess.CompletedProcess[str]:
    """`lab.py up` in a scratch lab dir, with no Python 3.13 to find: should the port check ever
    regress, it fails on that at once instead of installing venvs and starting services."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path),
        "LAB_DIR": str(tmp_path / "lab"),
        "LAB_MODE": "native",
        "LAB_PG_PORT": str(pg_port),
    }
    return subprocess.run(
        [sys.executable, str(LAB_PY), "up"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_up_with_postgres_port_taken_says_so_in_one_line(tmp_path: Path) -> None:
    with listening_port() as port:
        result = lab_up(tmp_path, port)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"lab: port {port} (Postgres) is already in use: stop what holds it or set LAB_PG_PORT"
    )


def test_up_with_localstack_port_taken_says_so_in_one_line(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        if not lab.port_in_use("127.0.0.1", 4566):
            stack.enter_context(listening_port(4566))
        with closed_port() as pg_port:
            result = lab_up(tmp_path, pg_port)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "lab: port 4566 is already in use (another LocalStack?): stop it first (`make down`)"
    )
