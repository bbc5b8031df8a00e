"""LocalStack: its shared settings, its health and session, and native mode's process (a process group)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from lab import settings
from lab.process import LabError, say

# The one form of interpolation scripts/localstack.env uses: Compose's `${VAR:-default}`.
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_]\w*):-(?P<default>[^}]*)\}")


def env_file_settings() -> dict[str, str]:
    """scripts/localstack.env as Compose reads it (env_file): `${VAR:-default}` is VAR when set and
    not empty, else the default; so the environment overrides the file in both modes."""
    values: dict[str, str] = {}
    for raw in settings.LOCALSTACK_ENV_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = INTERPOLATION.sub(lambda m: os.environ.get(m["name"]) or m["default"], value)
    return values


def start() -> None:
    """Start LocalStack from its venv with the native Lambda executor and DynamoDB; wait until healthy."""
    tmp = settings.LAB / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))
    }
    env.update(env_file_settings())
    env.update(
        {
            "GATEWAY_LISTEN": settings.EDGE,
            "DNS_ADDRESS": "0",
            "LOCALSTACK_VOLUME_DIR": str(settings.LAB / "localstack-volume"),
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "LAMBDA_RUNTIME_EXECUTOR": "native",
            # LocalStack's own DynamoDB downloads Java and DynamoDB Local at first use; natively the
            # lab serves both APIs from moto (localstack-native). Docker mode keeps LocalStack's own.
            "PROVIDER_OVERRIDE_DYNAMODB": "moto",
            "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "moto",
            "LAB_LAMBDA_RUNTIMES": f"{settings.RUNTIME}={settings.RUNTIME_VENV / 'bin' / 'python'}",
            "TMPDIR": str(tmp),  # LocalStack unpacks function code under $TMPDIR/lambda
        }
    )
    with open(settings.LOCALSTACK_LOG, "ab") as log:
        process = subprocess.Popen(
            [str(settings.LOCALSTACK_VENV / "bin" / "python"), "-m", "localstack.runtime.main"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: `down` stops it and every Lambda process
            cwd=str(settings.LAB),
        )
    settings.LOCALSTACK_PID_FILE.write_text(str(process.pid))
    try:
        wait_healthy(process)
    except BaseException:
        stop()  # never leave an unhealthy LocalStack behind for the next `make up` to trust
        raise


def wait_healthy(process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise LabError(
                f"LocalStack exited with status {process.returncode}: see {settings.LOCALSTACK_LOG}"
            )
        try:
            with urllib.request.urlopen(f"{settings.ENDPOINT}/_localstack/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise LabError(f"LocalStack is not healthy after {timeout:.0f} s: see {settings.LOCALSTACK_LOG}")


def require_answering() -> None:
    """LocalStack answers its health endpoint (either mode), or a one-line diagnosis."""
    try:
        with urllib.request.urlopen(f"{settings.ENDPOINT}/_localstack/health", timeout=3) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise LabError(f"LocalStack at {settings.ENDPOINT} is not answering ({exc}): `make down up`") from exc


def session() -> str:
    """What identifies this LocalStack run: its state (and so a deployment) dies with it."""
    with urllib.request.urlopen(f"{settings.ENDPOINT}/_localstack/info", timeout=3) as response:
        info = json.load(response)
    return str(info.get("session_id") or info.get("server_time_utc"))


def is_localstack_process(pid: int) -> bool:
    """The pid is LocalStack as the lab starts it (a pid file can outlive its process; pids are reused)."""
    try:
        return b"localstack.runtime.main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def running() -> bool:
    pid_file = settings.LOCALSTACK_PID_FILE
    return pid_file.exists() and is_localstack_process(int(pid_file.read_text()))


def stop() -> None:
    """Stop LocalStack's process group: LocalStack and every Lambda process it started."""
    pid_file = settings.LOCALSTACK_PID_FILE
    if not pid_file.exists():
        return
    pgid = int(pid_file.read_text())
    if Path(f"/proc/{pgid}").exists() and not is_localstack_process(pgid):
        say(f"pid {pgid} from {pid_file} is no longer LocalStack: not touching it")
        pid_file.unlink(missing_ok=True)
        return
    # Linux does not reuse a pid that is still a process group id, so the group is ours.
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and process_group_alive(pgid):
            time.sleep(0.1)
        if not process_group_alive(pgid):
            break
    pid_file.unlink(missing_ok=True)


def process_group_alive(pgid: int) -> bool:
    """Any member of the group is alive (the leader may be gone while Lambda processes remain)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)  # reap the leader if it is our child (only right after a start)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
