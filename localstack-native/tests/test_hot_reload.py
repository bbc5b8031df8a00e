"""The hot-reload scan: which host folders a function version runs, and which edits count as a change."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from types import SimpleNamespace

from localstack_native import hot_reload


def code(location: Path, *, hot: bool) -> SimpleNamespace:
    """Stands in for LocalStack's HotReloadingCode (hot) or S3Code (unzipped into its cache)."""
    return SimpleNamespace(get_unzipped_code_location=lambda: location, is_hot_reloading=lambda: hot)


def version(function_code: SimpleNamespace, *layer_codes: SimpleNamespace) -> SimpleNamespace:
    layers = [SimpleNamespace(code=layer) for layer in layer_codes]
    return SimpleNamespace(config=SimpleNamespace(code=function_code, layers=layers))


def test_only_hot_reloading_code_and_layers_are_watched(tmp_path: Path) -> None:
    function_code = code(tmp_path / "src", hot=True)
    layers = code(tmp_path / "zipped-layer", hot=False), code(tmp_path / "layer", hot=True)
    function_version = version(function_code, *layers)

    assert hot_reload.watched_folders(function_version) == [tmp_path / "src", tmp_path / "layer"]


def test_a_zip_function_watches_nothing(tmp_path: Path) -> None:
    function_version = version(code(tmp_path / "unzipped", hot=False), code(tmp_path / "layer", hot=False))

    assert hot_reload.watched_folders(function_version) == []


def tree(root: Path) -> Path:
    (root / "app" / "__pycache__").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "app" / "handler.py").write_text("VERSION = 1\n")
    (root / "app" / "helper.py").write_text("X = 1\n")
    return root


def bump_mtime(path: Path) -> None:
    """Same content, later mtime: what `touch` or an editor's save without changes does."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_an_edit_of_the_same_size_is_a_change(tmp_path: Path) -> None:
    root = tree(tmp_path)
    before = hot_reload.snapshot([root])
    handler = root / "app" / "handler.py"

    handler.write_text("VERSION = 2\n")
    bump_mtime(handler)  # the same clock tick as the first write would hide it; a real edit comes later

    assert hot_reload.snapshot([root]) != before


def test_new_deleted_and_replaced_files_are_changes(tmp_path: Path) -> None:
    root = tree(tmp_path)
    app = root / "app"
    snapshots = [hot_reload.snapshot([root])]

    (app / "extra.py").write_text("")
    snapshots.append(hot_reload.snapshot([root]))
    (app / "extra.py").unlink()
    snapshots.append(hot_reload.snapshot([root]))
    # An editor's atomic save: a new file renamed over the old one (new inode, same size and mtime).
    stat = (app / "helper.py").stat()
    (app / "helper.py.tmp").write_text("X = 2\n")
    os.utime(app / "helper.py.tmp", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (app / "helper.py.tmp").replace(app / "helper.py")
    snapshots.append(hot_reload.snapshot([root]))

    changed = [before != after for before, after in itertools.pairwise(snapshots)]
    assert changed == [True, True, True], "adding, deleting and replacing a file each is a change"


def test_caches_and_dot_folders_do_not_count(tmp_path: Path) -> None:
    root = tree(tmp_path)
    before = hot_reload.snapshot([root])

    (root / "app" / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\0")
    (root / ".git" / "index").write_bytes(b"\0")
    (root / ".mypy_cache").mkdir()
    (root / ".mypy_cache" / "x.json").write_text("{}")

    assert hot_reload.snapshot([root]) == before


def test_every_watched_folder_counts(tmp_path: Path) -> None:
    code_root, layer_root = tree(tmp_path / "code"), tree(tmp_path / "layer")
    before = hot_reload.snapshot([code_root, layer_root])

    (layer_root / "app" / "new.py").write_text("")

    assert hot_reload.snapshot([code_root, layer_root]) != before
