"""Builds the Lambda layer and the function zips, reproducibly and only when their inputs change.

Layer: the `layer` dependency group installed for manylinux (the lab's uv, --python-platform), plus the shared
package `lambdas/labcore`, with precompiled bytecode. Functions: one zip per `lambdas/<name>/`
holding its package; with `--delivery bundle` each zip also carries the layer's contents (for
LocalStack Community in Docker, which does not apply layers). `--hot-reload-deps DIR`: the layer's
dependencies as a plain folder, which Docker mode mounts at /opt/python for hot-reloaded functions.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from lab import settings

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = ROOT / "lambdas"
SHARED_PACKAGES = ("labcore",)
PYTHON_VERSION = "3.13"
# Wheels the python3.13 runtime (Amazon Linux 2023, glibc 2.34) loads. aarch64: manylinux_2_28, as
# psycopg-binary 3.3.9 publishes no manylinux2014 (2_17) aarch64 wheel.
PLATFORMS = {"x86_64": "x86_64-manylinux2014", "arm64": "aarch64-manylinux_2_28"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def layer_requirements() -> list[str]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return sorted(str(item) for item in groups["layer"])


def functions() -> list[str]:
    return sorted(p.name for p in LAMBDAS.iterdir() if (p / "handler.py").is_file())


def digest(parts: Iterable[str | bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def source_files(package: Path) -> list[Path]:
    """Every file a package ships (what the zip holds, so what its key must cover)."""
    return sorted(
        p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def compile_tree(root: Path, *, strict: bool = False) -> None:
    """Write .pyc next to every .py: unchecked-hash, so a read-only task root never recompiles.

    strict: a file that does not compile is an error (our code), not skipped (third-party files).
    """
    for source in sorted(root.rglob("*.py")):
        relative = source.relative_to(root).as_posix()
        try:
            py_compile.compile(
                str(source),
                cfile=importlib.util.cache_from_source(str(source)),
                dfile=relative,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except py_compile.PyCompileError as exc:
            if strict:
                error = exc.exc_value
                where = f"{relative}, line {error.lineno}" if isinstance(error, SyntaxError) else relative
                reason = error.msg if isinstance(error, SyntaxError) else str(error)
                sys.exit(f"build: {where} does not compile: {exc.exc_type_name}: {reason}")
            # Some packages ship templates or py2 files named .py; they are never imported.
            continue


def uv_version(uv: Path) -> str:
    if not uv.exists():
        sys.exit(f"build: no uv at {uv}: `make venv` installs it")
    return subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def install_dependencies(out: Path, arch: str, uv: Path) -> Path:
    """Install the layer group for the target platform (wheels only); cached by the requirement set."""
    requirements = layer_requirements()
    key = digest([*requirements, PLATFORMS[arch], PYTHON_VERSION, uv_version(uv)])
    target = out / "cache" / f"deps-{arch}-{key}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    (out / "cache").mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out / "cache", prefix="tmp-deps-"))
    cmd = [
        str(uv),
        "pip",
        "install",
        "--quiet",
        "--python",
        sys.executable,
        "--python-platform",
        PLATFORMS[arch],
        "--python-version",
        PYTHON_VERSION,
        "--only-binary",
        ":all:",
        "--target",
        str(staging / "python"),
        *requirements,
    ]
    print(f"build: installing layer dependencies for {arch}", flush=True)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        sys.exit(f"build: uv could not install the layer dependencies:\n{result.stdout}{result.stderr}")
    # Metadata only installers use; dropping it keeps the zip byte-for-byte stable across installs.
    for junk in [
        *(staging / "python").glob("*.dist-info/RECORD"),
        *(staging / "python").glob("*.dist-info/INSTALLER"),
        staging / "python" / ".lock",
    ]:
        junk.unlink(missing_ok=True)
    shutil.rmtree(staging / "python" / "bin", ignore_errors=True)
    compile_tree(staging / "python")
    (staging / ".complete").write_text(json.dumps(requirements))
    staging.rename(target)
    return target


def walk(base: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    for path in sorted(base.rglob("*")):
        if path.is_file() and path.name != ".complete":
            yield prefix + path.relative_to(base).as_posix(), path


Entry = tuple[str, Path | bytes]


def package_entries(name: str, prefix: str = "") -> list[Entry]:
    """A package from lambdas/ with fresh bytecode, as (archive name, content) pairs."""
    with tempfile.TemporaryDirectory(prefix=f"pkg-{name}-") as tmp:
        staging = Path(tmp)
        shutil.copytree(LAMBDAS / name, staging / name, ignore=IGNORED)
        compile_tree(staging, strict=True)
        return [(entry, path.read_bytes()) for entry, path in walk(staging, prefix)]


def write_zip(path: Path, entries: list[Entry]) -> bool:
    """Deterministic zip (fixed dates and modes, sorted); returns False when the bytes are unchanged."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, source in sorted(entries, key=lambda entry: entry[0]):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source if isinstance(source, bytes) else source.read_bytes())
    if path.exists() and path.read_bytes() == tmp.read_bytes():
        tmp.unlink()
        return False
    tmp.replace(path)
    return True


def inputs_key(*parts: object) -> str:
    """Digest of the inputs, this build script included (a change in how zips are made rebuilds)."""
    items: list[str | bytes] = [Path(__file__).read_bytes()]
    for part in parts:
        if isinstance(part, Path):
            for file in source_files(part) if part.is_dir() else [part]:
                items += [file.relative_to(ROOT).as_posix(), file.read_bytes()]
        else:
            items.append(str(part))
    return digest(items)


def build_if_changed(artifact: Path, key: str, make: Callable[[], list[Entry]]) -> None:
    stamp = artifact.with_suffix(".key")
    if artifact.exists() and stamp.exists() and stamp.read_text() == key:
        print(f"build: {artifact.name} up to date")
        return
    changed = write_zip(artifact, make())
    stamp.write_text(key)
    print(f"build: {artifact.name} {'written' if changed else 'rebuilt, unchanged'}")


def copy_hot_reload_deps(deps: Path, target: Path) -> None:
    """The layer's dependencies, not labcore (hot-reloaded functions import it from lambdas/), into target."""
    stamp = target.with_name(target.name + ".key")
    if target.is_dir() and stamp.exists() and stamp.read_text() == deps.name:
        print(f"build: {target.name} up to date")
        return
    target.mkdir(parents=True, exist_ok=True)
    # Emptied, not replaced: Lambda containers bind-mount this very folder.
    for entry in target.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(deps / "python", target, symlinks=True, dirs_exist_ok=True)
    stamp.write_text(deps.name)
    print(f"build: {target.name} written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=settings.BUILD_DIR)
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    parser.add_argument("--delivery", choices=("attach", "bundle"), default="attach")
    parser.add_argument("--uv", type=Path, default=settings.UV, help="the uv that installs the layer")
    parser.add_argument(
        "--hot-reload-deps", type=Path, help="also copy the layer's dependencies into this folder"
    )
    args = parser.parse_args()
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON_VERSION:
        sys.exit(f"build: run with Python {PYTHON_VERSION} (the bytecode in the zips is compiled for it)")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    deps = install_dependencies(out, args.arch, args.uv)
    shared = [LAMBDAS / name for name in SHARED_PACKAGES]

    def layer_entries(prefix: str) -> list[Entry]:
        entries: list[Entry] = list(walk(deps / "python", prefix))
        for package in SHARED_PACKAGES:
            entries += package_entries(package, prefix)
        return entries

    def bundled_entries(name: str) -> list[Entry]:
        return package_entries(name) + layer_entries("")

    layer_key = inputs_key(deps.name, *shared)
    build_if_changed(out / f"layer-{args.arch}.zip", layer_key, lambda: layer_entries("python/"))
    for name in functions():
        key = inputs_key(LAMBDAS / name)
        build_if_changed(out / f"{name}.zip", key, functools.partial(package_entries, name))
        if args.delivery == "bundle":
            bundled_key = inputs_key(key, layer_key)
            build_if_changed(
                out / f"{name}-bundled-{args.arch}.zip",
                bundled_key,
                functools.partial(bundled_entries, name),
            )
    if args.hot_reload_deps:
        copy_hot_reload_deps(deps, args.hot_reload_deps)


if __name__ == "__main__":
    main()
