"""`make apply HOT_RELOAD=1` without a stack: the switch, its refusals, its Terraform flags, its deps."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import build
from lab import deploy, settings, stack, terraform, tools, venvs
from lab.process import LabError

ROOT = settings.ROOT


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("1", True), ("true", True)])
def test_hot_reload_switch(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("HOT_RELOAD", value)
    assert terraform.hot_reload_requested() is expected


def test_an_unknown_hot_reload_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOT_RELOAD", "sometimes")
    with pytest.raises(LabError, match="HOT_RELOAD='sometimes'"):
        terraform.hot_reload_requested()


def test_makefile_passes_hot_reload_to_apply() -> None:
    shown = subprocess.run(
        ["make", "-n", "apply", "HOT_RELOAD=1"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "HOT_RELOAD='1'" in shown and "scripts/lab apply" in shown


def flag(flags: list[str], name: str) -> str:
    values = [item.split("=", 2)[2] for item in flags if item.startswith(f"-var={name}=")]
    assert len(values) == 1, flags
    return values[0]


def test_hot_reload_runs_the_repos_lambdas_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAYER_DELIVERY", raising=False)
    folder = terraform.hot_reload_dir("native")
    assert Path(folder).is_absolute() and Path(folder) == ROOT / "lambdas"
    assert flag(terraform.variables("native", folder), "hot_reload_dir") == folder
    assert flag(terraform.variables("native"), "hot_reload_dir") == ""  # a plain apply: the zips


def test_hot_reload_is_refused_without_a_localstack_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ENDPOINT", "")
    with pytest.raises(LabError, match="no LocalStack endpoint") as refused:
        terraform.hot_reload_dir("native")
    assert "\n" not in str(refused.value)


def test_native_hot_reload_needs_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYER_DELIVERY", "bundle")
    with pytest.raises(LabError, match="LAYER_DELIVERY"):
        terraform.hot_reload_dir("native")


@pytest.fixture
def recorded_build(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """deploy.build with the venvs stubbed out: the build.py command lines it runs."""
    calls: list[list[str]] = []
    monkeypatch.setattr(venvs, "ensure_dev_venv", lambda: None)
    monkeypatch.setattr(venvs, "ensure_uv", lambda python: "/fake/uv")
    monkeypatch.setattr(tools, "find_python313", lambda: "/fake/python3.13")
    monkeypatch.setattr(stack, "architecture", lambda: "x86_64")
    monkeypatch.setattr(deploy, "run", lambda cmd, **kwargs: calls.append([str(part) for part in cmd]))
    monkeypatch.delenv("LAYER_DELIVERY", raising=False)
    return calls


@pytest.mark.parametrize(
    ("mode", "hot_reload", "copies"),
    [("docker", True, True), ("docker", False, False), ("native", True, False)],
)
def test_build_fills_the_mounted_deps_folder_only_hot_reloading_without_a_layer(
    monkeypatch: pytest.MonkeyPatch,
    recorded_build: list[list[str]],
    mode: str,
    hot_reload: bool,
    copies: bool,
) -> None:
    monkeypatch.setattr(stack, "current_mode", lambda: mode)
    deploy.build(hot_reload=hot_reload)
    (cmd,) = recorded_build
    assert (["--hot-reload-deps", str(settings.HOT_RELOAD_DEPS_DIR)] == cmd[-2:]) is copies


def test_apply_refuses_before_building(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOT_RELOAD", "1")
    monkeypatch.setattr(settings, "ENDPOINT", "")
    monkeypatch.setattr(stack, "require_up", lambda: "native")

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("apply went on after refusing hot reload")

    monkeypatch.setattr(deploy, "build", must_not_run)
    monkeypatch.setattr(terraform, "environment", must_not_run)
    with pytest.raises(LabError, match="no LocalStack endpoint"):
        deploy.apply()


def fake_deps(root: Path, files: dict[str, str]) -> Path:
    deps = root / "deps-x86_64-abc"
    for name, text in files.items():
        (deps / "python" / name).parent.mkdir(parents=True, exist_ok=True)
        (deps / "python" / name).write_text(text)
    return deps


def test_hot_reload_deps_are_the_layers_dependencies_without_labcore(tmp_path: Path) -> None:
    target = tmp_path / "build" / "hot-reload-deps"
    deps = fake_deps(tmp_path / "v1", {"psycopg/__init__.py": "v1", "pydantic/__init__.py": "v1"})
    build.copy_hot_reload_deps(deps, target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.py")) == [
        "psycopg/__init__.py",
        "pydantic/__init__.py",
    ]
    assert not (target / "labcore").exists()


def test_hot_reload_deps_follow_the_layer(tmp_path: Path) -> None:
    target = tmp_path / "hot-reload-deps"
    build.copy_hot_reload_deps(fake_deps(tmp_path / "v1", {"old/__init__.py": "v1"}), target)
    mounted = target.stat().st_ino
    (target / "old" / "__init__.py").write_text("edited")
    build.copy_hot_reload_deps(fake_deps(tmp_path / "v1", {"old/__init__.py": "v1"}), target)
    assert (target / "old" / "__init__.py").read_text() == "edited"  # same deps: left alone
    renamed = tmp_path / "v2" / "deps-x86_64-def"
    fake_deps(tmp_path / "v2", {"new/__init__.py": "v2"}).rename(renamed)
    build.copy_hot_reload_deps(renamed, target)
    assert (target / "new" / "__init__.py").read_text() == "v2"
    assert not (target / "old").exists()  # a dependency the layer dropped goes from the folder too
    assert target.stat().st_ino == mounted  # emptied in place: the containers' bind mount stays valid
