"""LocalStack's hot-reload convention in the native executor: which host folders a function runs, and changes.

A function (or layer) whose code was created from the S3 bucket `hot-reload` (LocalStack's
BUCKET_MARKER_LOCAL) with key = an absolute host folder has `HotReloadingCode`: its unzipped code
location is that folder itself. Stdlib only, so the dev venv's unit tests import it without LocalStack.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localstack.services.lambda_.invocation.lambda_models import FunctionVersion

# Written by tools, not by the person editing: a change in them must not restart the environment.
IGNORED_DIRS = frozenset({"__pycache__", "node_modules"})

# (path, inode, mtime_ns, size) of every file: an in-place edit, a replace-by-rename (new inode),
# a new file and a deleted file all change it.
Snapshot = frozenset[tuple[str, int, int, int]]


def watched_folders(function_version: FunctionVersion) -> list[Path]:
    """The host folders this version runs directly: its code and its layers that are hot-reloading."""
    config = function_version.config
    codes = [config.code, *(layer.code for layer in config.layers)]
    return [Path(code.get_unzipped_code_location()) for code in codes if code and code.is_hot_reloading()]


def snapshot(folders: list[Path]) -> Snapshot:
    """What a change to any file under the folders changes; dot folders and caches are left out."""
    entries: set[tuple[str, int, int, int]] = set()
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = [name for name in dirs if name not in IGNORED_DIRS and not name.startswith(".")]
            for name in files:
                path = os.path.join(root, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:  # deleted between the listing and the stat: the next scan sees it
                    continue
                entries.add((path, stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return frozenset(entries)
