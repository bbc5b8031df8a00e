"""Packaging: deterministic zips, precompiled bytecode that never needs the source's mtime."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

import build


def test_functions_are_the_folders_with_a_handler() -> None:
    assert {"ping", "jobs_api", "dispatcher", "worker", "events_api", "projector", "payments"} == set(
        build.functions()
    )
    assert "labcore" not in build.functions()


def test_zip_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build.write_zip(first, build.package_entries("ping"))
    build.write_zip(second, build.package_entries("ping"))
    assert first.read_bytes() == second.read_bytes()
    assert build.write_zip(first, build.package_entries("ping")) is False  # unchanged: not rewritten


def test_package_ships_unchecked_hash_bytecode(tmp_path: Path) -> None:
    entries = dict(build.package_entries("ping"))
    sources = [name for name in entries if name.endswith(".py")]
    assert "ping/handler.py" in sources
    for source in sources:
        cached = importlib.util.cache_from_source(source)
        assert cached in entries, f"{source} has no precompiled {cached}"
        pyc = entries[cached]
        assert isinstance(pyc, bytes)
        # PEP 552 flags: bit 0 = hash-based, bit 1 = check_source; unchecked-hash is 0b01.
        assert int.from_bytes(pyc[4:8], "little") == 0b01, f"{cached} is not an unchecked-hash pyc"


def test_zip_entries_have_fixed_dates_and_modes(tmp_path: Path) -> None:
    target = tmp_path / "ping.zip"
    build.write_zip(target, build.package_entries("ping"))
    with zipfile.ZipFile(target) as archive:
        infos = archive.infolist()
    assert infos, "empty zip"
    assert {info.date_time for info in infos} == {build.ZIP_DATE}
    assert {info.external_attr >> 16 for info in infos} == {0o644}
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)


def test_inputs_key_changes_with_the_source(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("A = 1\n")
    build.ROOT, saved = tmp_path, build.ROOT
    try:
        before = build.inputs_key(package)
        (package / "mod.py").write_text("A = 2\n")
        assert build.inputs_key(package) != before
    finally:
        build.ROOT = saved


def lambda_package(root: Path, name: str, files: dict[str, str]) -> Path:
    package = root / name
    package.mkdir(parents=True)
    for relative, text in files.items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text)
    return package


def test_our_code_that_does_not_compile_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_package(tmp_path, "broken", {"handler.py": "def handler(event, context):\n    return (\n"})
    monkeypatch.setattr(build, "LAMBDAS", tmp_path)
    with pytest.raises(
        SystemExit, match=r"^build: broken/handler\.py, line 2 does not compile: SyntaxError: "
    ):
        build.package_entries("broken")


def test_stale_bytecode_in_the_source_tree_is_not_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = lambda_package(tmp_path, "fn", {"handler.py": "VALUE = 1\n"})
    stale = {
        "__pycache__/removed_module.cpython-313.pyc": b"stale",
        "__pycache__/handler.cpython-312.pyc": b"stale",
        "leftover.pyc": b"stale",
    }
    for relative, content in stale.items():
        (package / relative).parent.mkdir(exist_ok=True)
        (package / relative).write_bytes(content)
    monkeypatch.setattr(build, "LAMBDAS", tmp_path)
    entries = dict(build.package_entries("fn"))
    assert sorted(entries) == ["fn/__pycache__/handler.cpython-313.pyc", "fn/handler.py"]
    assert entries["fn/__pycache__/handler.cpython-313.pyc"] != b"stale"


def test_inputs_key_ignores_bytecode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = lambda_package(tmp_path, "pkg", {"mod.py": "A = 1\n"})
    monkeypatch.setattr(build, "ROOT", tmp_path)
    before = build.inputs_key(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "mod.cpython-313.pyc").write_bytes(b"whatever")
    (package / "stray.pyc").write_bytes(b"whatever")
    assert build.inputs_key(package) == before
