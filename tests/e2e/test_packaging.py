"""Both ways the dependencies reach a function: the attached layer, or bundled into its zip."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import stack
from tests_support import api_event

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LAB_DIR", ROOT / ".lab")) / "build"
ROLE = "arn:aws:iam::000000000000:role/outbox-lab-test"
ARCH = stack.architecture()  # what `make up` picked for the mode (LAMBDA_ARCH overrides)
PSYCOPG_SO = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[ARCH]


@pytest.fixture
def scratch_functions(aws: Callable[[str], Any]) -> Iterator[Callable[..., str]]:
    """Create throwaway functions (deleted afterwards); returns their names."""
    lambda_ = aws("lambda")
    created: list[str] = []

    def create(zip_bytes: bytes, handler: str, **extra: Any) -> str:
        name = f"outbox-lab-test-{uuid.uuid4().hex[:8]}"
        lambda_.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": zip_bytes},
            Timeout=10,
            **extra,
        )
        created.append(name)
        lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    yield create
    for name in created:
        lambda_.delete_function(FunctionName=name)


def invoke(aws: Callable[[str], Any], name: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_bundled_zip_works_without_any_layer(
    outputs: dict[str, Any], aws: Callable[[str], Any], scratch_functions: Callable[..., str]
) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build.py"),
            "--out",
            str(BUILD),
            "--delivery",
            "bundle",
            "--arch",
            ARCH,
        ],
        check=True,
        capture_output=True,
    )
    deployed = aws("lambda").get_function_configuration(FunctionName=outputs["functions"]["ping"])
    name = scratch_functions(
        (BUILD / f"ping-bundled-{ARCH}.zip").read_bytes(),
        "ping.handler.handler",
        Environment={"Variables": deployed["Environment"]["Variables"]},
    )
    assert "Layers" not in aws("lambda").get_function_configuration(FunctionName=name)
    result, error = invoke(aws, name, api_event("GET", "/ping"))
    assert error is None, result
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["psycopg"]["impl"] == "binary"


def test_without_the_layer_psycopg_is_missing(
    aws: Callable[[str], Any], scratch_functions: Callable[..., str]
) -> None:
    """The runtime has no psycopg of its own: what /ping reports can only come from the layer."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "probe.py", "import psycopg\n\ndef handler(event, context):\n    return 'unreachable'\n"
        )
    name = scratch_functions(buffer.getvalue(), "probe.handler")
    result, error = invoke(aws, name, {})
    assert error == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'psycopg'" in result["errorMessage"]


def test_layer_ships_manylinux_psycopg_and_precompiled_bytecode() -> None:
    with zipfile.ZipFile(BUILD / f"layer-{ARCH}.zip") as archive:
        names = set(archive.namelist())
        flags = {
            name: int.from_bytes(archive.read(name)[4:8], "little")
            for name in names
            if name.endswith(".cpython-313.pyc")
        }
    assert any(n.startswith(f"python/psycopg_binary/_psycopg.cpython-313-{PSYCOPG_SO}") for n in names)
    assert any(n.startswith("python/psycopg_binary.libs/libpq") for n in names)
    assert "python/labcore/db.py" in names
    importable = [n for n in names if n.endswith(".py") and "/tests/" not in n]
    missing = [n for n in importable if importlib.util.cache_from_source(n) not in flags]
    assert len(missing) <= len(importable) * 0.01, (
        f"{len(missing)} modules without bytecode, e.g. {missing[:5]}"
    )
    assert set(flags.values()) == {0b01}, "every .pyc must be unchecked-hash"
