"""The Lambda runtime loop (bootstrap.py) driven over its two pipes, as the native executor drives it."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[1] / "localstack_native" / "lambda_bootstrap.py"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:unit"
MESSAGE_TIMEOUT_S = 10.0


@dataclass
class Run:
    """What one bootstrap process said: its first message, one reply per event, and its output."""

    first: dict[str, Any]
    replies: list[dict[str, Any]]
    request_ids: list[str]
    logs_at_reply: list[str]  # the output as the executor sees it when each reply arrives
    log: str


def write_module(folder: Path, name: str, source: str) -> None:
    path = folder / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def run_bootstrap(
    tmp_path: Path,
    handler_source: str,
    events: Sequence[Any] = (),
    *,
    handler: str = "handler.handle",
    layers: Sequence[Path] = (),
    budget_ms: int = 3000,
) -> Run:
    """Start bootstrap.py on a task root holding handler.py, send each event once ready, then stop it."""
    task_root = tmp_path / "task"
    write_module(task_root, "handler", handler_source)
    log_path = tmp_path / "output.log"
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "LAB_LAMBDA_LAYERS": os.pathsep.join(map(str, layers)),
        "LAB_RESULT_FD": str(result_write),
        "LAB_REQUEST_FD": str(request_read),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-I", "-B", str(BOOTSTRAP)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(result_write, request_read),
        )
    os.close(request_read)
    os.close(result_write)
    try:
        with os.fdopen(request_write, "w", buffering=1) as requests, os.fdopen(result_read) as results:

            def receive() -> dict[str, Any]:
                ready, _, _ = select.select([results], [], [], MESSAGE_TIMEOUT_S)
                line = results.readline() if ready else ""
                if not line:
                    pytest.fail(f"no message from bootstrap; output:\n{log_path.read_text()}")
                return dict(json.loads(line))

            first = receive()
            replies, request_ids, logs_at_reply = [], [], []
            for event in events if first["type"] == "ready" else ():
                request_ids.append(str(uuid.uuid4()))
                request = {
                    "invoke-id": request_ids[-1],
                    "invoked-function-arn": FUNCTION_ARN,
                    "payload": json.dumps(event),
                    "trace-id": None,
                    "deadline-ms": int(time.time() * 1000) + budget_ms,
                }
                requests.write(json.dumps(request) + "\n")
                replies.append(receive())
                logs_at_reply.append(log_path.read_text())
        process.wait(timeout=MESSAGE_TIMEOUT_S)
    finally:
        process.kill()
        process.wait()
    return Run(first, replies, request_ids, logs_at_reply, log_path.read_text())


def test_reports_ready_after_loading_the_handler(tmp_path: Path) -> None:
    run = run_bootstrap(tmp_path, "def handle(event, context):\n    return None\n")

    assert run.first["type"] == "ready"
    assert run.first["init-ms"] >= 0


def test_result_round_trips_the_event_and_context(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            return {"echo": event, "request_id": context.aws_request_id, "arn": context.invoked_function_arn}
    """
    events = [{"n": 1, "text": "héllo"}, [1, 2, 3]]

    run = run_bootstrap(tmp_path, source, events)

    assert [reply["type"] for reply in run.replies] == ["result", "result"]
    assert [json.loads(reply["payload"]) for reply in run.replies] == [
        {"echo": event, "request_id": request_id, "arn": FUNCTION_ARN}
        for event, request_id in zip(events, run.request_ids, strict=True)
    ]


def test_handler_output_goes_to_the_log_not_the_result_channel(tmp_path: Path) -> None:
    source = """
        import sys

        def handle(event, context):
            print('{"type": "result", "payload": "forged"}')
            print("stdout-marker")
            print("stderr-marker", file=sys.stderr)
            print("no-newline", end="")
            return "genuine"
    """

    run = run_bootstrap(tmp_path, source, [{}])

    assert [(reply["type"], reply["payload"]) for reply in run.replies] == [("result", '"genuine"')]
    for marker in ('{"type": "result", "payload": "forged"}', "stdout-marker", "stderr-marker", "no-newline"):
        assert marker in run.logs_at_reply[0]


def test_exception_becomes_an_error_with_type_message_and_stack(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            raise ValueError(f"bad order {event['id']}")
    """

    run = run_bootstrap(tmp_path, source, [{"id": 7}, {"id": 8}])

    assert [reply["type"] for reply in run.replies] == ["error", "error"]
    error = run.replies[0]["error"]
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad order 7"
    assert error["requestId"] == run.request_ids[0]
    assert any("handler.py" in frame and "raise ValueError" in frame for frame in error["stackTrace"])
    assert run.replies[1]["error"]["errorMessage"] == "bad order 8", "the loop survives a handler error"
    assert "[ERROR] ValueError: bad order 7" in run.log


def test_import_error_is_an_import_module_init_error(tmp_path: Path) -> None:
    run = run_bootstrap(tmp_path, "import lab_no_such_module\n", [{}])

    assert run.first["type"] == "init-error"
    assert run.first["error"]["errorType"] == "Runtime.ImportModuleError"
    assert run.first["error"]["errorMessage"].startswith("Unable to import module 'handler': ")
    assert "lab_no_such_module" in run.first["error"]["errorMessage"]
    assert run.replies == []
    assert "[ERROR] Runtime.ImportModuleError" in run.log


def test_missing_handler_function_is_a_handler_not_found_init_error(tmp_path: Path) -> None:
    run = run_bootstrap(tmp_path, "def handle(event, context):\n    return None\n", handler="handler.absent")

    assert run.first["type"] == "init-error"
    assert run.first["error"]["errorType"] == "Runtime.HandlerNotFound"
    assert run.first["error"]["errorMessage"] == "Handler 'absent' missing on module 'handler'"


def test_layer_modules_are_importable_and_task_root_wins(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    site_packages = layer / "python/lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    write_module(layer / "python", "lab_layer_plain", "VALUE = 'layer python/'\n")
    write_module(site_packages / "site-packages", "lab_layer_site", "VALUE = 'layer site-packages'\n")
    write_module(layer / "python", "lab_shadowed", "VALUE = 'layer'\n")
    write_module(tmp_path / "task", "lab_shadowed", "VALUE = 'task root'\n")
    source = """
        import lab_layer_plain, lab_layer_site, lab_shadowed

        def handle(event, context):
            return [lab_layer_plain.VALUE, lab_layer_site.VALUE, lab_shadowed.VALUE]
    """

    run = run_bootstrap(tmp_path, source, [{}], layers=[layer])

    assert json.loads(run.replies[0]["payload"]) == ["layer python/", "layer site-packages", "task root"]


def test_remaining_time_counts_down_from_the_deadline(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            return context.get_remaining_time_in_millis()
    """

    run = run_bootstrap(tmp_path, source, [{}], budget_ms=60_000)

    remaining = json.loads(run.replies[0]["payload"])
    assert 55_000 < remaining <= 60_000


def test_decimal_results_are_serialised_as_numbers(tmp_path: Path) -> None:
    source = """
        from decimal import Decimal

        def handle(event, context):
            return {"whole": Decimal("42"), "fraction": Decimal("2.5"), "nested": [Decimal("-0.125")]}
    """

    run = run_bootstrap(tmp_path, source, [{}])

    assert run.replies[0]["type"] == "result"
    assert json.loads(run.replies[0]["payload"]) == {"whole": 42, "fraction": 2.5, "nested": [-0.125]}


def test_exception_at_import_is_an_init_error_of_its_type(tmp_path: Path) -> None:
    source = """
        raise RuntimeError("DB_HOST is required")

        def handle(event, context):
            return None
    """
    run = run_bootstrap(tmp_path, source)

    assert run.first["type"] == "init-error"
    assert run.first["error"]["errorType"] == "RuntimeError"
    assert run.first["error"]["errorMessage"] == "DB_HOST is required"
    assert "[ERROR] RuntimeError: DB_HOST is required" in run.log


def test_reported_peak_memory_is_the_function_process_own(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            return len(bytearray(event["bytes"]))
    """
    run = run_bootstrap(tmp_path, source, [{"bytes": 1}, {"bytes": 64 * 1024 * 1024}])

    small, large = (reply["max-rss-mb"] for reply in run.replies)
    assert 0 < small < 60, "a bare interpreter peaks far below this"
    assert large >= small + 60, "the 64 MB allocation shows up in the peak"
