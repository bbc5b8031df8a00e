"""Docker mode without a Docker engine: mode picking and `make doctor` with a fake `docker` on PATH, the
Lambdas' architecture, `make down`, mode-only tests, the printed awslocal line, the bench floor's
dependencies (the compose file itself: test_compose_file.py).
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lab import docker, settings, stack, terraform
from lab.process import LabError

sys.path.insert(0, str(settings.ROOT))  # the benchmarks package
from benchmarks import benchlib, jobs_api

ROOT = settings.ROOT
DOCKER_VERSION = "28.2.2"


# --- picking the mode with a fake docker ------------------------------------------------------


def fake_docker(
    bin_dir: Path,
    *,
    engine: bool = True,
    compose: str | None = "2.29.1",
    wait: bool = True,
    arch: str = "x86_64",
    lambda_containers: str = "",
) -> Path:
    """A `docker` that answers like a CLI with (or without) an engine and the Compose plugin."""
    calls = bin_dir / "docker-calls"
    compose_answer = f"echo {compose}" if compose else "echo 'unknown command: compose' >&2; exit 1"
    server = f"echo {DOCKER_VERSION}" if engine else "echo 'Cannot connect' >&2; exit 1"
    help_text = "echo '  -d, --detach'" + ("; echo '      --wait   Wait for services'" if wait else "")
    script = f"""#!/bin/sh
echo "$*" >> {calls}
case "$*" in
  "info --format {{{{.ServerVersion}}}}") {server} ;;
  "info --format {{{{.Architecture}}}}") {f"echo {arch}" if engine else "exit 1"} ;;
  "compose version --short") {compose_answer} ;;
  "compose up --help") {help_text} ;;
  ps\\ -aq\\ --filter\\ name=*) printf "{lambda_containers}" ;;
esac
"""
    path = bin_dir / "docker"
    path.write_text(script)
    path.chmod(0o755)
    return calls


@pytest.fixture
def bin_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PATH holds only this folder (and the lab's files live under tmp_path)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    for name in ("LAB_MODE", "LAMBDA_ARCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings, "MODE_FILE", tmp_path / "mode")
    monkeypatch.setattr(settings, "ARCHITECTURE_FILE", tmp_path / "architecture")
    return folder


@pytest.mark.parametrize(
    ("docker_setup", "mode", "reason"),
    [
        ({}, "docker", "Docker engine 28.2.2 with Compose 2.29.1 answers"),
        ({"compose": "v2.40.3"}, "docker", "Compose 2.40.3"),
        ({"engine": False}, "native", "no Docker engine answers"),
        ({"compose": None}, "native", "`docker compose` is missing"),
        ({"compose": "1.29.2"}, "native", "Compose 1.29.2 is too old"),
        ({"compose": "2.0.1", "wait": False}, "native", "no `up --wait`"),
    ],
)
def test_docker_mode_needs_an_engine_and_compose_v2_with_wait(
    docker_setup: dict[str, Any], mode: str, reason: str, bin_dir: Path
) -> None:
    fake_docker(bin_dir, **docker_setup)
    picked, why = stack.mode_and_reason()
    assert (picked, stack.pick_mode()) == (mode, mode)
    assert reason in why


def test_no_docker_cli_means_native(bin_dir: Path) -> None:
    assert stack.mode_and_reason() == ("native", "no docker CLI on PATH")


def test_forcing_docker_mode_without_compose_says_what_is_missing(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_docker(bin_dir, compose=None)
    monkeypatch.setenv("LAB_MODE", "docker")
    with pytest.raises(LabError, match=r"LAB_MODE=docker, but `docker compose` is missing"):
        stack.pick_mode()
    monkeypatch.setenv("LAB_MODE", "native")
    assert stack.mode_and_reason() == ("native", "forced by LAB_MODE")


def doctor_report(capsys: pytest.CaptureFixture[str]) -> tuple[str, str | None]:
    try:
        stack.doctor()
    except LabError as exc:
        return capsys.readouterr().out, str(exc)
    return capsys.readouterr().out, None


def test_doctor_checks_the_docker_prerequisites_in_docker_mode(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker(bin_dir, arch="aarch64")
    out, _ = doctor_report(capsys)
    assert "mode would be docker" in out
    assert f"  ok  docker engine: {DOCKER_VERSION}, arm64" in out
    assert "  ok  compose v2: 2.29.1, up --wait" in out
    assert "python3.13" in out and "terraform" in out  # the host still runs the dev venv and Terraform
    assert "postgres binaries" not in out  # Postgres runs in a container


def test_doctor_forced_to_docker_without_compose_fails_on_compose(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker(bin_dir, compose=None)
    monkeypatch.setenv("LAB_MODE", "docker")
    out, error = doctor_report(capsys)
    assert "  ok  docker engine: 28.2.2, x86_64" in out
    assert "  --  compose v2: `docker compose` is missing" in out
    assert error == "prerequisites of docker mode missing (see above)"


def test_doctor_checks_the_native_prerequisites_in_native_mode(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker(bin_dir, compose=None)
    out, error = doctor_report(capsys)
    assert "mode would be native (`docker compose` is missing" in out
    assert "postgres binaries" in out
    assert "docker engine" not in out and "compose v2" not in out
    assert error == "prerequisites of native mode missing (see above)"  # PATH holds no terraform


# --- the Lambdas' architecture ---------------------------------------------------------------


@pytest.mark.parametrize(("engine_arch", "lambda_arch"), [("aarch64", "arm64"), ("x86_64", "x86_64")])
def test_docker_mode_runs_lambdas_on_the_engines_architecture(
    engine_arch: str, lambda_arch: str, bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_docker(bin_dir, arch=engine_arch)
    stack.record("docker")
    assert settings.ARCHITECTURE_FILE.read_text() == lambda_arch
    monkeypatch.setattr(settings, "MODE_FILE", bin_dir / "elsewhere")  # read back from the record alone
    assert terraform.architecture() == lambda_arch
    assert f"-var=architecture={lambda_arch}" in terraform.variables("docker")


def test_native_mode_is_x86_64_without_asking_docker(bin_dir: Path) -> None:
    calls = fake_docker(bin_dir, arch="aarch64")
    stack.record("native")
    assert terraform.architecture() == "x86_64"
    assert not calls.exists()


def test_lambda_arch_wins_and_an_engine_lambda_cannot_run_on_is_refused(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_docker(bin_dir, arch="s390x")
    with pytest.raises(LabError, match="'s390x': Lambda has x86_64 and arm64 only"):
        stack.record("docker")
    monkeypatch.setenv("LAMBDA_ARCH", "x86_64")
    stack.record("docker")
    assert terraform.architecture() == "x86_64"


# --- make down -------------------------------------------------------------------------------


def test_down_stops_localstack_then_removes_its_lambda_containers_then_the_project(bin_dir: Path) -> None:
    calls = fake_docker(bin_dir, lambda_containers="c0ffee\\nbadd06\\n")
    docker.down()
    compose = f"compose -f {settings.COMPOSE_FILE} -p outbox-lab"
    assert calls.read_text().splitlines() == [
        f"{compose} stop localstack",
        "ps -aq --filter name=outbox-lab-localstack-1-lambda-",
        "rm -f c0ffee badd06",
        f"{compose} down --remove-orphans",
    ]


def test_down_without_leftover_lambda_containers_removes_none(bin_dir: Path) -> None:
    calls = fake_docker(bin_dir)
    docker.down(volumes=True)
    assert not any(line.startswith("rm ") for line in calls.read_text().splitlines())
    assert calls.read_text().splitlines()[-1].endswith("down -v --remove-orphans")


# --- tests that make sense in one mode only ----------------------------------------------------


@pytest.mark.parametrize(("mode", "deselected"), [("docker", True), ("native", False), (None, False)])
def test_the_other_modes_tests_are_deselected_not_skipped(
    mode: str | None, deselected: bool, tmp_path: Path
) -> None:
    if mode:
        (tmp_path / "mode").write_text(mode)
    executor_tests = "localstack-native/tests/test_lambda_executor.py"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/test_build.py",
            executor_tests,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "LAB_DIR": str(tmp_path)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    collected = [line for line in out.stdout.splitlines() if "::" in line]
    assert any(line.startswith("tests/unit/test_build.py::") for line in collected)
    assert any(line.startswith(executor_tests) for line in collected) is not deselected
    assert (" deselected" in out.stdout) is deselected


# --- the printed awslocal line ----------------------------------------------------------------


def test_the_printed_awslocal_line_runs_as_pasted_at_the_repo_root() -> None:
    line = terraform.runnable(".lab/venv/bin/awslocal --version")
    assert line.startswith(
        str((settings.VENV / "bin" / "awslocal").relative_to(ROOT))
        if settings.VENV.is_relative_to(ROOT)
        else str(settings.VENV)
    )
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert (out.stdout + out.stderr).startswith("aws-cli/1.")


def test_the_awslocal_path_follows_the_lab_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(settings, "VENV", tmp_path / "my lab" / "venv")
    line = terraform.runnable(".lab/venv/bin/awslocal lambda invoke --function-name f /dev/stdout")
    assert shlex.split(line)[0] == str(tmp_path / "my lab" / "venv" / "bin" / "awslocal")
    assert line.endswith(" lambda invoke --function-name f /dev/stdout")
    assert terraform.runnable("curl -s http://x/ping") == "curl -s http://x/ping"


# --- the jobs API benchmark's floor -----------------------------------------------------------


def test_the_floor_gets_the_jobs_apis_layers_or_its_bundled_dependencies(tmp_path: Path) -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:layer:deps:3"
    assert jobs_api.floor_dependencies({"Layers": [{"Arn": arn}]}, tmp_path, "x86_64") == (None, [arn])
    bundled = io.BytesIO()
    with zipfile.ZipFile(bundled, "w") as archive:
        archive.writestr("psycopg/__init__.py", "")
        archive.writestr("jobs_api/handler.py", "")
    (tmp_path / "jobs_api-bundled-arm64.zip").write_bytes(bundled.getvalue())
    base, layers = jobs_api.floor_dependencies({}, tmp_path, "arm64")
    assert layers == []
    with zipfile.ZipFile(io.BytesIO(benchlib.zip_of("def handler(e, c): ...", base))) as floor:
        assert set(floor.namelist()) == {"psycopg/__init__.py", "jobs_api/handler.py", "bench.py"}
        assert floor.read("bench.py") == b"def handler(e, c): ..."
    with pytest.raises(SystemExit, match=r"jobs_api-bundled-x86_64\.zip is missing"):
        jobs_api.floor_dependencies({}, tmp_path, "x86_64")
