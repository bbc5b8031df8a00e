"""The moto-backed DynamoDB providers as LocalStack builds them from their entry points (none running)."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lab import localstack, settings

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parent
PROBE = Path(__file__).with_name("dynamodb_probe.py")
# LocalStack lives in its own venv (native mode's `make up` makes it), not in the dev venv.
LOCALSTACK_PYTHON = Path(os.environ.get("LAB_DIR", ROOT / ".lab")) / "localstack" / "bin" / "python"


def provider_entry_points() -> dict[str, str]:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    entry_points: dict[str, str] = project["entry-points"]["localstack.aws.provider"]
    return entry_points


@pytest.fixture(scope="module")
def wiring() -> dict[str, dict[str, Any]]:
    """What the probe reports for each provider entry point, keyed by the entry point's name."""
    if not LOCALSTACK_PYTHON.exists():
        pytest.skip(f"needs LocalStack's venv ({LOCALSTACK_PYTHON}): native mode's `make up` creates it")
    entry_points = provider_entry_points()
    result = subprocess.run(
        [str(LOCALSTACK_PYTHON), str(PROBE), *entry_points.values()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    return dict(zip(entry_points, reports, strict=True))


class Started(Exception):
    """Raised by the fake Popen: the environment was captured, nothing was started."""


def test_native_mode_starts_localstack_with_the_moto_providers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    captured: dict[str, str] = {}

    def fake_popen(args: list[str], *, env: dict[str, str], **kwargs: object) -> None:
        captured.update(env)
        raise Started

    for name, value in {
        "LAB": tmp_path,
        "LOCALSTACK_LOG": tmp_path / "localstack.log",
        "LOCALSTACK_PID_FILE": tmp_path / "localstack.pid",
    }.items():
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    monkeypatch.delenv("SERVICES", raising=False)
    with pytest.raises(Started):
        localstack.start()

    names = {name.partition(":")[2] for name in provider_entry_points()}
    assert names == {"moto"}
    assert captured["PROVIDER_OVERRIDE_DYNAMODB"] == "moto"
    assert captured["PROVIDER_OVERRIDE_DYNAMODBSTREAMS"] == "moto"
    assert {"dynamodb", "dynamodbstreams"} <= set(captured["SERVICES"].split(","))


def test_docker_mode_keeps_localstacks_own_dynamodb() -> None:
    """docker-compose.yml reads scripts/localstack.env too: the overrides must not be in it."""
    shared = localstack.env_file_settings()
    assert not [name for name in shared if name.startswith("PROVIDER_OVERRIDE_")]
    assert {"dynamodb", "dynamodbstreams"} <= set(shared["SERVICES"].split(","))


def test_each_entry_point_is_the_plugin_spec_localstack_looks_up(wiring: dict[str, dict[str, Any]]) -> None:
    for name, report in wiring.items():
        assert (report["namespace"], report["name"]) == ("localstack.aws.provider", name)
        assert report["service"] == name.partition(":")[0]


@pytest.mark.parametrize(("api", "at_least"), [("dynamodb", 50), ("dynamodbstreams", 4)])
def test_every_operation_reaches_moto_under_the_lock(
    wiring: dict[str, dict[str, Any]], api: str, at_least: int
) -> None:
    report = wiring[f"{api}:moto"]
    assert report["operations"] >= at_least
    assert len(report["reached_moto"]) == report["operations"]
    assert report["under_lock"] is True
    assert report["lock_free_after"] is True
    assert report["answers_are_moto's"] is True
    assert report["contexts_passed"] is True


def test_streams_operations_are_the_whole_streams_api(wiring: dict[str, dict[str, Any]]) -> None:
    assert wiring["dynamodbstreams:moto"]["reached_moto"] == [
        "DescribeStream",
        "GetRecords",
        "GetShardIterator",
        "ListStreams",
    ]


def test_moto_keeps_tables_in_the_account_of_the_request(wiring: dict[str, dict[str, Any]]) -> None:
    assert wiring["dynamodb:moto"]["moto_tables"] == {
        "123456789012": ["probe-table"],
        "210987654321": [],
    }
