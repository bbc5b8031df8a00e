"""Packaging: deterministic zips, precompiled bytecode that never needs the source's mtime."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import build


def test_functions_are_the_folders_with_a_handler() -> None:
    assert {"ping", "jobs_api", "dispatcher", "worker"} == set(build.functions())
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
