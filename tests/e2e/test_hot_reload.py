"""Hot reload on the deployed lab: a function's code from bucket `hot-reload` is a live host folder.

Each test makes its own folder in the lab's shape (a package per function, imports from the folder's
root) and a function on it with the deployed layer, so the repo's lambdas/ are never edited.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

pytestmark = pytest.mark.native_only  # Docker mode's hot reload needs an engine to mount the folder

ROLE = "arn:aws:iam::000000000000:role/outbox-lab-test"
HANDLER = """
    import os

    import labcore  # only the deployed layer has these two: the folder holds our code alone
    import psycopg

    from hot import service

    def handler(event, context):
        return {
            "answer": service.answer(),
            "handler": "{version}",
            "pid": os.getpid(),
        }
"""
SERVICE = """
    def answer():
        return "{answer}"
"""


class HotFunction(NamedTuple):
    name: str
    folder: Path


def write(path: Path, source: str, **values: str) -> None:
    text = textwrap.dedent(source)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    path.write_text(text)


@pytest.fixture
def hot_function(aws: Callable[[str], Any], outputs: dict[str, Any], tmp_path: Path) -> Iterator[HotFunction]:
    """A function whose code is bucket hot-reload, key = a fresh folder, with the deployed layer."""
    folder = tmp_path / "lambdas"
    (folder / "hot").mkdir(parents=True)
    (folder / "hot" / "__init__.py").write_text("")
    write(folder / "hot" / "handler.py", HANDLER, version="one")
    write(folder / "hot" / "service.py", SERVICE, answer="first")
    lambda_ = aws("lambda")
    name = f"outbox-lab-hot-{uuid.uuid4().hex[:8]}"
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler="hot.handler.handler",
        Code={"S3Bucket": "hot-reload", "S3Key": str(folder)},
        Layers=[outputs["layer_arn"]],
        Timeout=10,
    )
    try:
        lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
        yield HotFunction(name, folder)
    finally:
        lambda_.delete_function(FunctionName=name)


def invoke(aws: Callable[[str], Any], name: str) -> tuple[dict[str, Any], str | None, float]:
    """The payload, the FunctionError (None on success) and the round trip in ms."""
    started = time.perf_counter()
    response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    return payload, response.get("FunctionError"), (time.perf_counter() - started) * 1000


def test_an_edited_handler_is_live_at_the_next_invocation(
    aws: Callable[[str], Any], hot_function: HotFunction, capsys: pytest.CaptureFixture[str]
) -> None:
    first, error, _ = invoke(aws, hot_function.name)
    assert error is None, first
    assert (first["handler"], first["answer"]) == ("one", "first")

    warm, error, warm_ms = invoke(aws, hot_function.name)
    assert error is None, warm
    assert warm["pid"] == first["pid"], "an unchanged folder must keep the warm environment"

    write(hot_function.folder / "hot" / "handler.py", HANDLER, version="two, edited")
    edited, error, edit_ms = invoke(aws, hot_function.name)  # the very next one: no deploy, no poll
    assert error is None, edited
    assert (edited["handler"], edited["answer"]) == ("two, edited", "first")
    assert edited["pid"] != first["pid"], "an edit restarts the environment"
    with capsys.disabled():  # shown even with output captured: the figure is why one runs this by hand
        sys.stdout.write(
            f"\nhot reload: edit -> new behaviour {edit_ms:.0f} ms (a warm invoke: {warm_ms:.0f} ms)\n"
        )

    again, error, _ = invoke(aws, hot_function.name)
    assert error is None, again
    assert (again["handler"], again["pid"]) == ("two, edited", edited["pid"])  # warm again


def test_a_broken_module_fails_the_init_until_it_is_fixed(
    aws: Callable[[str], Any], hot_function: HotFunction
) -> None:
    before, error, _ = invoke(aws, hot_function.name)
    assert error is None, before

    write(hot_function.folder / "hot" / "service.py", "def answer(:\n")
    broken, error, _ = invoke(aws, hot_function.name)
    assert error is not None, broken
    assert broken["errorType"] == "Runtime.UserCodeSyntaxError", broken

    write(hot_function.folder / "hot" / "service.py", SERVICE, answer="fixed")
    fixed, error, _ = invoke(aws, hot_function.name)
    assert error is None, fixed
    assert fixed["answer"] == "fixed"
