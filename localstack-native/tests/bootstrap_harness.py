"""Drives lambda_bootstrap.py over its two pipes, as the native executor does, for the unit tests."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[1] / "localstack_native" / "lambda_bootstrap.py"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:unit"
MESSAGE_TIMEOUT_S = 10.0
PYTHON_VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


class Bootstrap:
    """One bootstrap process: its task root holds handler.py; requests and replies go over its pipes."""

    def __init__(self, tmp_path: Path, handler_source: str, **options: Any) -> None:
        task_root = write_files(tmp_path / "task", {"handler.py": handler_source, **options.get("files", {})})
        self.log_path = tmp_path / "output.log"
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            **options.get("env", {}),
            "LAMBDA_TASK_ROOT": str(options.get("task_root", task_root)),  # another: a hot-reload folder
            "_HANDLER": options.get("handler", "handler.handle"),
            "LAB_LAMBDA_LAYERS": os.pathsep.join(map(str, options.get("layers", ()))),
            "LAB_RESULT_FD": str(result_write),
            "LAB_REQUEST_FD": str(request_read),
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", str(BOOTSTRAP)],
                env=env,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(result_write, request_read),
            )
        os.close(request_read)
        os.close(result_write)
        self.requests = os.fdopen(request_write, "w", buffering=1)
        self.results = os.fdopen(result_read)
        self.first = self.receive()  # "ready" or "init-error"

    def close(self) -> None:
        self.requests.close()  # end of requests: the loop returns
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=MESSAGE_TIMEOUT_S)
        self.process.kill()
        self.process.wait()
        self.results.close()

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def receive(self, timeout: float = MESSAGE_TIMEOUT_S) -> dict[str, Any] | None:
        """The next message; None when the process closed its result pipe; fails past the timeout."""
        ready, _, _ = select.select([self.results], [], [], timeout)
        if not ready:
            pytest.fail(f"no message from the bootstrap in {timeout} s; output:\n{self.log}")
        line = self.results.readline()
        return dict(json.loads(line)) if line else None

    def send(
        self, payload: str, request_id: str, *, trace_id: str | None = None, budget_ms: int = 3000
    ) -> None:
        request = {
            "invoke-id": request_id,
            "invoked-function-arn": FUNCTION_ARN,
            "payload": payload,
            "trace-id": trace_id,
            "deadline-ms": int(time.time() * 1000) + budget_ms,
        }
        self.requests.write(json.dumps(request) + "\n")

    def invoke(self, event: Any, **request: Any) -> dict[str, Any]:
        """Send one event (as JSON text) and return the reply, which must come."""
        self.send(json.dumps(event), request.pop("request_id", str(uuid.uuid4())), **request)
        reply = self.receive()
        assert reply is not None, f"the bootstrap exited; output:\n{self.log}"
        return reply


@contextlib.contextmanager
def bootstrap(tmp_path: Path, handler_source: str, **options: Any) -> Iterator[Bootstrap]:
    """A ready bootstrap (its init message already checked) that is stopped afterwards."""
    process = Bootstrap(tmp_path, handler_source, **options)
    try:
        assert process.first is not None and process.first["type"] == "ready", (process.first, process.log)
        yield process
    finally:
        process.close()


def init_error(tmp_path: Path, handler_source: str, **options: Any) -> tuple[dict[str, Any], str]:
    """The error a failing init reports, and the output it logged (the process must then exit)."""
    process = Bootstrap(tmp_path, handler_source, **options)
    try:
        assert process.first is not None and process.first["type"] == "init-error", (
            process.first,
            process.log,
        )
        assert process.receive() is None, "after an init error the environment ends"
        return process.first["error"], process.log
    finally:
        process.close()


def payload_text(reply: dict[str, Any]) -> str:
    assert reply["type"] == "result", reply
    return str(reply["payload"])
