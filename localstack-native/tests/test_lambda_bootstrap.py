"""The Lambda runtime loop (lambda_bootstrap.py): its results, errors, context and layers, as AWS has them."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.bootstrap_harness import (
    FUNCTION_ARN,
    PYTHON_VERSION,
    bootstrap,
    init_error,
    payload_text,
    write_files,
)


def test_reports_ready_with_the_duration_of_the_init(tmp_path: Path) -> None:
    source = """
        import time

        time.sleep(0.2)

        def handle(event, context):
            return None
    """
    with bootstrap(tmp_path, source) as process:
        first = process.first

    assert first is not None and 200 <= first["init-ms"] < 5000


def test_event_and_result_keep_their_json_types_exactly(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            return {"echo": event, "types": [type(value).__name__ for value in event.values()]}
    """
    event = {"int": 42, "float": 2.5, "big": 2**63, "text": "héllo", "none": None, "list": [1, True]}

    with bootstrap(tmp_path, source) as process:
        reply = process.invoke(event)
        process.send("", "request-empty")
        empty = process.receive()

    # Compared as text: 42 and 42.0 are equal once parsed, but not on the wire.
    assert payload_text(reply) == json.dumps(
        {"echo": event, "types": ["int", "float", "int", "str", "NoneType", "list"]}
    )
    assert empty is not None and payload_text(empty) == '{"echo": {}, "types": []}', "no payload: {}"


def test_decimal_results_are_whole_numbers_when_integral(tmp_path: Path) -> None:
    source = """
        from decimal import Decimal

        def handle(event, context):
            return {
                "whole": Decimal("42"), "scaled": Decimal("42.000"), "exponent": Decimal("1E+2"),
                "fraction": Decimal("2.5"), "nested": [Decimal("-0.125")], "infinite": Decimal("Infinity"),
            }
    """

    with bootstrap(tmp_path, source) as process:
        reply = process.invoke({})

    assert payload_text(reply) == (
        '{"whole": 42, "scaled": 42, "exponent": 100, "fraction": 2.5, "nested": [-0.125], '
        '"infinite": Infinity}'
    )


def test_context_environment_and_working_directory_are_the_function_s(tmp_path: Path) -> None:
    source = """
        import os, time

        def handle(event, context):
            time.sleep(event["sleep"])
            return {
                "context": [context.aws_request_id, context.invoked_function_arn, context.function_name,
                            context.function_version, context.memory_limit_in_mb, context.log_group_name,
                            context.log_stream_name],
                "trace": os.environ["_X_AMZN_TRACE_ID"],
                "pipes_hidden": not {"LAB_RESULT_FD", "LAB_REQUEST_FD"} & set(os.environ),
                "cwd": os.getcwd(),
            }
    """
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "unit",
        "AWS_LAMBDA_FUNCTION_VERSION": "7",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/unit",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/29/[7]abc",
    }

    with bootstrap(tmp_path, source, env=env) as process:
        traced = process.invoke({"sleep": 0.2}, request_id="request-1", trace_id="Root=1-abc")
        untraced = process.invoke({"sleep": 0}, request_id="request-2")

    identity = [FUNCTION_ARN, "unit", "7", "256", "/aws/lambda/unit", "2026/11/29/[7]abc"]
    assert json.loads(payload_text(traced)) == {
        "context": ["request-1", *identity],
        "trace": "Root=1-abc",
        "pipes_hidden": True,
        "cwd": str(tmp_path / "task"),
    }
    assert json.loads(payload_text(untraced))["trace"] == "", "no trace id: none left from the last request"
    assert traced["duration-ms"] >= 200 > untraced["duration-ms"]


def test_remaining_time_counts_down_from_the_deadline_and_stops_at_zero(tmp_path: Path) -> None:
    source = "def handle(event, context):\n    return context.get_remaining_time_in_millis()\n"

    with bootstrap(tmp_path, source) as process:
        remaining = [payload_text(process.invoke({}, budget_ms=budget)) for budget in (60_000, -5_000)]

    assert 55_000 < int(remaining[0]) <= 60_000
    assert remaining[1] == "0"


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

    with bootstrap(tmp_path, source) as process:
        reply = process.invoke({})
        log_at_reply = process.log

    assert payload_text(reply) == '"genuine"'
    for marker in ('{"type": "result", "payload": "forged"}', "stdout-marker", "stderr-marker", "no-newline"):
        assert marker in log_at_reply, "output is flushed before the reply is sent"


def test_exception_becomes_an_error_with_type_message_and_the_user_s_stack(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            raise ValueError(f"bad order {event['id']}")
    """

    with bootstrap(tmp_path, source) as process:
        replies = [process.invoke({"id": 7}, request_id="request-7"), process.invoke({"id": 8})]
        log = process.log

    assert [reply["type"] for reply in replies] == ["error", "error"]
    error = replies[0]["error"]
    assert (error["errorType"], error["errorMessage"], error["requestId"]) == (
        "ValueError",
        "bad order 7",
        "request-7",
    )
    assert len(error["stackTrace"]) == 1, "the trace starts at the handler, not the runtime loop"
    assert "handler.py" in error["stackTrace"][0] and "raise ValueError" in error["stackTrace"][0]
    assert replies[1]["error"]["errorMessage"] == "bad order 8", "the loop survives a handler error"
    assert "[ERROR] ValueError: bad order 7\nTraceback (most recent call last):\n" in log


@pytest.mark.parametrize("result", ["{1, 2}", "circular", "object()"])
def test_unserialisable_result_is_a_marshal_error_and_the_loop_goes_on(tmp_path: Path, result: str) -> None:
    source = f"""
        circular: list = []
        circular.append(circular)

        def handle(event, context):
            return "fine" if event.get("fine") else {result}
    """

    with bootstrap(tmp_path, source) as process:
        failed = process.invoke({}, request_id="request-1")
        after = process.invoke({"fine": True})
        log = process.log

    assert failed["type"] == "error"
    error = failed["error"]
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response: ")
    assert (error["requestId"], error["stackTrace"]) == ("request-1", [])
    assert "[ERROR] Runtime.MarshalError: Unable to marshal response: " in log
    assert payload_text(after) == '"fine"'


@pytest.mark.parametrize(
    ("source", "handler", "error_type", "message"),
    [
        ("import lab_no_such_module\n", "handler.handle", "Runtime.ImportModuleError",
         "Unable to import module 'handler': No module named 'lab_no_such_module'"),
        ("def handle(event, context)\n    return 1\n", "handler.handle", "Runtime.UserCodeSyntaxError",
         "Syntax error in module 'handler': expected ':' (handler.py, line 1)"),
        ("def handle(event, context):\n    return 1\n", "handler.absent", "Runtime.HandlerNotFound",
         "Handler 'absent' missing on module 'handler'"),
        ("def handle(event, context):\n    return 1\n", "handler", "Runtime.MalformedHandlerName",
         "Bad handler 'handler': not enough values to unpack"),
        ("raise RuntimeError('DB_HOST is required')\n", "handler.handle", "RuntimeError",
         "DB_HOST is required"),
    ],
)  # fmt: skip
def test_init_failures_are_reported_with_aws_error_types(
    tmp_path: Path, source: str, handler: str, error_type: str, message: str
) -> None:
    error, log = init_error(tmp_path, source, handler=handler)

    assert (error["errorType"], error["errorMessage"], error["requestId"]) == (error_type, message, "")
    assert f"[ERROR] {error_type}: {message}\n" in log
    if error_type.startswith("Runtime."):
        assert error["stackTrace"] == []
    else:
        assert "handler.py" in error["stackTrace"][-1], "an exception at import keeps its stack"


def test_handler_path_with_slashes_names_a_module_in_a_folder(tmp_path: Path) -> None:
    files = {"app/__init__.py": "", "app/main.py": "def handle(event, context):\n    return 'nested'\n"}

    with bootstrap(tmp_path, "", handler="app/main.handle", files=files) as process:
        reply = process.invoke({})

    assert payload_text(reply) == '"nested"'


def make_layer(root: Path, name: str, modules: Mapping[str, str]) -> Path:
    """A layer whose `site` modules go to python/lib/pythonX.Y/site-packages and `python` ones to python/."""
    folders = {"site": f"python/lib/{PYTHON_VERSION}/site-packages", "python": "python"}
    files = {}
    for where_module, origin in modules.items():
        where, module = where_module.split(":")
        files[f"{folders[where]}/{module}.py"] = f"ORIGIN = {origin!r}\n"
    return write_files(root / name, files)


def test_layers_are_searched_as_aws_searches_the_merged_opt(tmp_path: Path) -> None:
    """On AWS the layers are extracted in order into one /opt, later over earlier."""
    first = make_layer(
        tmp_path,
        "first",
        {"python:only_first": "first", "python:both": "first", "site:site_vs_python": "first site-packages",
         "python:task_wins": "first"},
    )  # fmt: skip
    second = make_layer(
        tmp_path,
        "second",
        {"python:both": "second", "site:in_one_layer": "second site-packages",
         "python:in_one_layer": "second python/", "python:site_vs_python": "second python/"},
    )  # fmt: skip
    modules = ["only_first", "both", "in_one_layer", "site_vs_python", "task_wins"]
    source = f"""
        import importlib

        def handle(event, context):
            return [importlib.import_module(name).ORIGIN for name in {modules!r}]
    """

    with bootstrap(
        tmp_path, source, layers=[first, second], files={"task_wins.py": "ORIGIN = 'task root'\n"}
    ) as process:
        reply = process.invoke({})

    assert json.loads(payload_text(reply)) == [
        "first",
        "second",  # the later layer overwrites the same file
        "second site-packages",  # site-packages comes before python/
        "first site-packages",  # ... whichever layer each came from
        "task root",  # the function's own code comes first
    ]


def test_a_layer_shadows_the_runtime_s_own_packages(tmp_path: Path) -> None:
    assert importlib.util.find_spec("boto3") is not None, "the runtime under test must have its own boto3"
    layer = write_files(tmp_path / "layer", {"python/boto3/__init__.py": "__version__ = 'from the layer'\n"})
    source = "import boto3\n\ndef handle(event, context):\n    return boto3.__version__\n"

    with bootstrap(tmp_path, source, layers=[layer]) as process:
        reply = process.invoke({})

    assert payload_text(reply) == '"from the layer"'


def test_a_process_the_handler_leaves_behind_does_not_hide_the_environment_s_exit(tmp_path: Path) -> None:
    # The executor learns of a crash from the end of the result pipe: a leftover child must not hold it.
    source = """
        import os, subprocess

        def handle(event, context):
            if event.get("exit"):
                os._exit(3)
            return subprocess.Popen(["sleep", "30"], close_fds=False, start_new_session=True).pid
    """
    with bootstrap(tmp_path, source) as process:
        leftover = int(payload_text(process.invoke({})))
        try:
            process.send(json.dumps({"exit": True}), "request-exit")
            reply = process.receive(timeout=3)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)

    assert reply is None, "the result pipe ends with the process"


def test_reported_peak_memory_is_the_function_process_own(tmp_path: Path) -> None:
    source = """
        def handle(event, context):
            return len(bytearray(event["bytes"]))
    """

    with bootstrap(tmp_path, source) as process:
        small, large = (process.invoke({"bytes": size})["max-rss-mb"] for size in (1, 64 * 1024 * 1024))

    assert 0 < small < 60, "a bare interpreter peaks far below this"
    assert large >= small + 60, "the 64 MB allocation shows up in the peak"


def test_a_missing_task_root_is_an_init_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"  # a hot-reload folder not created yet: the next invoke tries again

    error, _ = init_error(tmp_path, "def handle(event, context): pass", task_root=missing)

    assert error["errorType"] == "FileNotFoundError"
    assert str(missing) in error["errorMessage"]
