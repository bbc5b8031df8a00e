"""What every lab module shares: the one-line error, `lab:` messages, running commands, input stamps."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from pathlib import Path
from typing import Any


class LabError(Exception):
    """A problem with a one-line diagnosis for the user."""


def say(message: str) -> None:
    print(f"lab: {message}", flush=True)


def run(cmd: list[str], *, quiet_log: Path | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; with quiet_log, keep its output in a file and show the tail only on failure."""
    if quiet_log is None:
        completed: subprocess.CompletedProcess[str] = subprocess.run(cmd, check=True, text=True, **kwargs)
        return completed
    quiet_log.parent.mkdir(parents=True, exist_ok=True)
    with open(quiet_log, "w") as log:
        result = subprocess.run(cmd, text=True, stdout=log, stderr=subprocess.STDOUT, check=False, **kwargs)
    if result.returncode != 0:
        tail = "\n".join(quiet_log.read_text().splitlines()[-25:])
        raise LabError(f"`{shlex.join(cmd[:4])} ...` failed (full log: {quiet_log}):\n{tail}")
    return result


def stamp_of(*parts: object) -> str:
    """A digest of the inputs of a step (files by content, anything else by its text)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(part.read_bytes() if part.exists() else b"<missing>")
        else:
            digest.update(str(part).encode())
    return digest.hexdigest()
