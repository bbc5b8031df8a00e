"""Where the lab lives and what it runs: paths, pinned versions, ports, credentials (read from the env)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = Path(os.environ.get("LAB_DIR", ROOT / ".lab")).resolve()
PYPROJECT = ROOT / "pyproject.toml"
TERRAFORM_DIR = ROOT / "terraform"
COMPOSE_FILE = ROOT / "docker-compose.yml"
# Docker mode: the Compose project, and the network its Lambda containers join (LAMBDA_DOCKER_NETWORK).
COMPOSE_PROJECT = "outbox-lab"
COMPOSE_NETWORK = "outbox-lab"
LOCALSTACK_ENV_FILE = ROOT / "scripts" / "localstack.env"
LOCALSTACK_CONSTRAINTS = ROOT / "scripts" / "requirements" / "localstack-constraints.txt"
EXECUTOR_DIR = ROOT / "localstack-native"

LOCALSTACK_VERSION = "4.14.0"
UV_VERSION = "0.13.9"  # installs every venv; itself installed from PyPI into .lab/uv
PIP_VERSION = "25.3"  # still in each venv, as `python -m venv` put it there: people run .lab/venv/bin/pip
RUNTIME = "python3.13"
NATIVE_ARCHITECTURE = "x86_64"  # native mode's Lambdas: the lab's machines and CI are x86_64
AWS_PROVIDER_VERSION = "5.100.0"

PG_PORT = int(os.environ.get("LAB_PG_PORT", "15432"))
PG_SUPERUSER_PASSWORD = os.environ.get("LAB_PG_PASSWORD", "postgres")
# The database and least-privilege role: created by scripts/migrate.py, used by the Lambdas.
DB_NAME = os.environ.get("LAB_DB_NAME", "outbox")
APP_DB_USER = "outbox_app"  # fixed: the migrations grant to this role by name
APP_DB_PASSWORD = os.environ.get("LAB_APP_DB_PASSWORD", "outbox_app")
# LocalStack's port is 4566 everywhere (docker-compose.yml, localstack.env); tests pick another one.
DEFAULT_LOCALSTACK_PORT = 4566
LOCALSTACK_PORT = int(os.environ.get("LAB_LOCALSTACK_PORT", str(DEFAULT_LOCALSTACK_PORT)))
EDGE = f"127.0.0.1:{LOCALSTACK_PORT}"
ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", f"http://localhost:{LOCALSTACK_PORT}")

LOGS = LAB / "logs"
UV_DIR = LAB / "uv"
UV = UV_DIR / "bin" / "uv"
VENV = LAB / "venv"  # dev tools, build, tests (Python 3.13)
LOCALSTACK_VENV = LAB / "localstack"
RUNTIME_VENV = LAB / "runtimes" / RUNTIME  # the clean interpreter Lambdas run on
BUILD_DIR = LAB / "build"
# Docker mode mounts this at /opt/python in every Lambda container: where hot-reloaded functions
# (code = a host folder, no zip, no layer in Community) find the layer's dependencies.
HOT_RELOAD_DEPS_DIR = BUILD_DIR / "hot-reload-deps"
MODE_FILE = LAB / "mode"
ARCHITECTURE_FILE = LAB / "architecture"  # the Lambdas' architecture, picked by `up` with the mode
PG_DIR = LAB / "postgres"
LOCALSTACK_PID_FILE = LAB / "localstack.pid"
LOCALSTACK_LOG = LAB / "localstack.log"
# The LocalStack session the Terraform state describes, and the one the last apply completed on.
LOCALSTACK_SESSION_FILE = LAB / "localstack-session"
DEPLOYED_SESSION_FILE = LAB / "deployed-session"
TERRAFORM_STATE = LAB / "terraform.tfstate"
TERRAFORM_STATE_BACKUP = LAB / "terraform.tfstate.backup"
