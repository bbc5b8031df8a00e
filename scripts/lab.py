"""Brings the lab up and down (native processes or Docker Compose) and deploys it with Terraform.

Standard library only: it runs on the machine's default python3 before any venv exists.
Every failure the user can fix ends in one line starting with "lab:" and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAB = Path(os.environ.get("LAB_DIR", ROOT / ".lab")).resolve()
TERRAFORM_DIR = ROOT / "terraform"
LOCALSTACK_ENV_FILE = ROOT / "scripts" / "localstack.env"
LOCALSTACK_CONSTRAINTS = ROOT / "scripts" / "requirements" / "localstack-constraints.txt"
EXECUTOR_DIR = ROOT / "localstack-native"
LOCALSTACK_VERSION = "2026.3.0"
PIP_VERSION = "25.3"
RUNTIME = "python3.13"
AWS_PROVIDER_VERSION = "5.100.0"

PG_PORT = int(os.environ.get("LAB_PG_PORT", "15432"))
PG_SUPERUSER_PASSWORD = os.environ.get("LAB_PG_PASSWORD", "postgres")
# The database and least-privilege role: created by scripts/migrate.py, used by the Lambdas.
DB_NAME = os.environ.get("LAB_DB_NAME", "outbox")
APP_DB_USER = "outbox_app"  # fixed: the migrations grant to this role by name
APP_DB_PASSWORD = os.environ.get("LAB_APP_DB_PASSWORD", "outbox_app")
EDGE = "127.0.0.1:4566"
ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")

VENV = LAB / "venv"  # dev tools, build, tests (Python 3.13)
LOCALSTACK_VENV = LAB / "localstack"
RUNTIME_VENV = LAB / "runtimes" / RUNTIME  # the clean interpreter Lambdas run on


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


# --- finding tools ------------------------------------------------------------------------------
def find_python313() -> str:
    """Python 3.13: LAB_PYTHON313, python3.13 on PATH, or a pyenv 3.13.x."""
    candidates = [os.environ.get("LAB_PYTHON313", ""), shutil.which("python3.13") or ""]
    pyenv = shutil.which("pyenv")
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        roots.insert(0, out)
    for root in filter(None, roots):
        candidates += sorted(glob.glob(f"{root}/versions/3.13.*/bin/python3.13"), reverse=True)
    for candidate in filter(None, candidates):
        version = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if version == "3.13":
            return candidate
    raise LabError(
        "Python 3.13 not found (LocalStack and the Lambda runtime need it): install it "
        "(e.g. `pyenv install 3.13`) or set LAB_PYTHON313=/path/to/python3.13"
    )


def find_pg_bindir() -> Path:
    """Postgres server binaries: LAB_PG_BINDIR, initdb on PATH, pg_config --bindir, Debian's layout."""
    candidates = [os.environ.get("LAB_PG_BINDIR", "")]
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).resolve().parent))
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for candidate in filter(None, candidates):
        if all((Path(candidate) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    raise LabError("no PostgreSQL server binaries (initdb, pg_ctl, postgres)")


def ensure_pg_bindir() -> Path:
    try:
        return find_pg_bindir()
    except LabError:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise LabError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install the "
                "postgresql package or set LAB_PG_BINDIR"
            ) from None
    say("PostgreSQL server not found: installing Debian's postgresql package (no cluster is created)")
    conf = Path("/etc/postgresql-common/createcluster.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    if not conf.exists():
        conf.write_text("create_main_cluster = false\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update"], quiet_log=LAB / "logs" / "apt.log", env=env)
    run(
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
        quiet_log=LAB / "logs" / "apt.log",
        env=env,
    )
    return find_pg_bindir()


def find_terraform_mirror() -> Path | None:
    """A local provider mirror holding hashicorp/aws: TF_PLUGIN_DIR, or a search of the usual places."""
    if explicit := os.environ.get("TF_PLUGIN_DIR"):
        return Path(explicit)
    suffix = f"registry.terraform.io/hashicorp/aws/{AWS_PROVIDER_VERSION}"
    roots = [
        Path.home() / ".terraform.d" / "plugins",
        Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    roots += [Path(p) for p in sorted(glob.glob("/opt/*"))]
    for root in roots:
        if (root / suffix).is_dir():
            return root
    return None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# --- venvs ----------------------------------------------------------------------------------------
def stamp_of(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(part.read_bytes() if part.exists() else b"<missing>")
        else:
            digest.update(str(part).encode())
    return digest.hexdigest()


def dependency_groups() -> str:
    """The project's dependency groups: what the venvs install (tool settings do not count)."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return json.dumps(groups, sort_keys=True)


def ensure_venv(path: Path, python: str, install: list[list[str]], stamp: str, label: str) -> None:
    """Create or refresh a venv; skipped when the stamp of its inputs is unchanged."""
    stamp_file = path / ".lab-stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    say(f"installing {label} into {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    started = time.monotonic()
    if not (path / "bin" / "python").exists():
        run([python, "-m", "venv", str(path)], quiet_log=LAB / "logs" / f"venv-{path.name}.log")
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    run([*pip, f"pip=={PIP_VERSION}"], quiet_log=LAB / "logs" / f"venv-{path.name}.log")
    for args in install:
        run([*pip, *args], quiet_log=LAB / "logs" / f"venv-{path.name}.log")
    stamp_file.write_text(stamp)
    say(f"{label} ready in {time.monotonic() - started:.0f} s")


def ensure_dev_venv() -> None:
    python = find_python313()
    ensure_venv(
        VENV,
        python,
        [["--group", f"{ROOT / 'pyproject.toml'}:dev"]],
        stamp_of(dependency_groups(), PIP_VERSION),
        "dev tools",
    )


def ensure_native_venvs() -> str:
    python = find_python313()
    ensure_dev_venv()
    ensure_venv(
        RUNTIME_VENV,
        python,
        [["--group", f"{ROOT / 'pyproject.toml'}:runtime"]],
        stamp_of(dependency_groups(), PIP_VERSION),
        f"the Lambda {RUNTIME} runtime",
    )
    executor_sources = sorted((EXECUTOR_DIR / "localstack_native").glob("*.py"))
    executor_files = [*executor_sources, EXECUTOR_DIR / "pyproject.toml"]
    # Installed from a copy: building in place would leave build/ and .egg-info in the repo.
    executor_copy = LAB / "executor-src"
    shutil.rmtree(executor_copy, ignore_errors=True)
    shutil.copytree(
        EXECUTOR_DIR, executor_copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    ensure_venv(
        LOCALSTACK_VENV,
        python,
        [
            [f"localstack-core[runtime]=={LOCALSTACK_VERSION}", "-c", str(LOCALSTACK_CONSTRAINTS)],
            # Not editable: LocalStack must run the executor as committed, and a reinstall picks up changes.
            ["--no-deps", "--force-reinstall", str(executor_copy)],
        ],
        stamp_of(LOCALSTACK_CONSTRAINTS, LOCALSTACK_VERSION, PIP_VERSION, *executor_files),
        f"LocalStack {LOCALSTACK_VERSION} with the native Lambda executor",
    )
    return python


# --- settings shared by both modes ------------------------------------------------------------------
def localstack_settings() -> dict[str, str]:
    """scripts/localstack.env (also the compose file's env_file), overridable from the environment."""
    settings: dict[str, str] = {}
    for raw in LOCALSTACK_ENV_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key] = os.environ.get(key, value)
    return settings


def mode_file() -> Path:
    return LAB / "mode"


def current_mode() -> str | None:
    return mode_file().read_text().strip() if mode_file().exists() else None


def pick_mode() -> str:
    forced = os.environ.get("LAB_MODE", "").strip()
    if forced:
        if forced not in ("docker", "native"):
            raise LabError(f"LAB_MODE must be docker or native, not {forced!r}")
        return forced
    if shutil.which("docker"):
        try:
            probe = subprocess.run(
                ["docker", "info"], capture_output=True, text=True, check=False, timeout=20
            )
        except subprocess.TimeoutExpired:
            say("`docker info` did not answer in 20 s: using native mode")
            return "native"
        if probe.returncode == 0:
            return "docker"
    return "native"


# --- native mode -----------------------------------------------------------------------------------
def pg_dir() -> Path:
    return LAB / "postgres"


def as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("runuser"):
        raise LabError("running as root needs runuser to start Postgres as the postgres user")
    return ["runuser", "-u", "postgres", "--", *cmd]


def prepare_pg_dir() -> Path:
    """The data directory; when root, one the postgres user can reach (a private tmp dir may not be)."""
    target = pg_dir()
    if target.is_symlink() or target.exists():
        return target.resolve()
    if os.geteuid() == 0:
        reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(LAB)], check=False)
        if reachable.returncode != 0:
            # Some parent folder (e.g. a 0700 mktemp dir) is closed to the postgres user.
            parent = Path("/var/tmp/outbox-lab")  # noqa: S108 (root creates it; postgres gets one child)
            outside = parent / hashlib.sha256(str(LAB).encode()).hexdigest()[:12]
            outside.mkdir(parents=True, exist_ok=True)
            shutil.chown(outside, "postgres")
            target.symlink_to(outside)
            return outside
    target.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(target, "postgres")
    return target


def check_ports_free(*, postgres: bool = True, localstack: bool = True) -> None:
    if postgres and port_in_use("127.0.0.1", PG_PORT):
        raise LabError(f"port {PG_PORT} (Postgres) is already in use: stop what holds it or set LAB_PG_PORT")
    if localstack and port_in_use("127.0.0.1", 4566):
        raise LabError("port 4566 is already in use (another LocalStack?): stop it first (`make down`)")


def start_postgres() -> None:
    bindir = ensure_pg_bindir()
    base = prepare_pg_dir()
    data = base / "data"
    if not (data / "PG_VERSION").exists():
        pwfile = base / "pwfile"
        pwfile.write_text(PG_SUPERUSER_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        run(
            as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            quiet_log=LAB / "logs" / "initdb.log",
        )
        pwfile.unlink()
    options = f"-p {PG_PORT} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
    run(
        as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "postgres.log"),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            ]
        ),
        quiet_log=LAB / "logs" / "pg_ctl.log",
    )


def postgres_running() -> bool:
    """Our cluster is up, as pg_ctl sees it (a stale postmaster.pid is not enough)."""
    data = pg_dir().resolve() / "data"
    if not (data / "postmaster.pid").exists():
        return False
    status = subprocess.run(
        as_postgres([str(find_pg_bindir() / "pg_ctl"), "-D", str(data), "status"]),
        capture_output=True,
        check=False,
    )
    return status.returncode == 0


def localstack_running() -> bool:
    pid_file = localstack_pid_file()
    return pid_file.exists() and is_localstack_process(int(pid_file.read_text()))


def stop_postgres() -> None:
    # Resolved: the data may live outside .lab (see prepare_pg_dir), where the postgres user can reach it.
    data = pg_dir().resolve() / "data"
    if not (data / "postmaster.pid").exists():
        return
    bindir = find_pg_bindir()
    stop = as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    result = subprocess.run(stop, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"could not stop Postgres in {data}: {result.stderr.strip() or result.stdout.strip()}")


def localstack_pid_file() -> Path:
    return LAB / "localstack.pid"


def start_localstack() -> None:
    settings = localstack_settings()
    tmp = LAB / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))
    }
    env.update(settings)
    env.update(
        {
            "GATEWAY_LISTEN": EDGE,
            "DNS_ADDRESS": "0",
            "LOCALSTACK_VOLUME_DIR": str(LAB / "localstack-volume"),
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "LAMBDA_RUNTIME_EXECUTOR": "native",
            "LAB_LAMBDA_RUNTIMES": f"{RUNTIME}={RUNTIME_VENV / 'bin' / 'python'}",
            "TMPDIR": str(tmp),  # LocalStack unpacks function code under $TMPDIR/lambda
        }
    )
    with open(LAB / "localstack.log", "ab") as log:
        process = subprocess.Popen(
            [str(LOCALSTACK_VENV / "bin" / "python"), "-m", "localstack.runtime.main"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: `down` stops it and every Lambda process
            cwd=str(LAB),
        )
    localstack_pid_file().write_text(str(process.pid))
    try:
        wait_localstack_healthy(process)
    except BaseException:
        stop_localstack()  # never leave an unhealthy LocalStack behind for the next `make up` to trust
        raise


def wait_localstack_healthy(process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise LabError(
                f"LocalStack exited with status {process.returncode}: see {LAB / 'localstack.log'}"
            )
        try:
            with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise LabError(f"LocalStack is not healthy after {timeout:.0f} s: see {LAB / 'localstack.log'}")


def is_localstack_process(pid: int) -> bool:
    """The pid is LocalStack as the lab starts it (a pid file can outlive its process; pids are reused)."""
    try:
        return b"localstack.runtime.main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop_localstack() -> None:
    """Stop LocalStack's process group: LocalStack and every Lambda process it started."""
    pid_file = localstack_pid_file()
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


# --- docker mode -----------------------------------------------------------------------------------
def compose(*args: str) -> list[str]:
    return ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "-p", "outbox-lab", *args]


# --- commands --------------------------------------------------------------------------------------
def cmd_up(_: argparse.Namespace) -> None:
    mode = pick_mode()
    started = time.monotonic()
    LAB.mkdir(parents=True, exist_ok=True)
    if current_mode() and current_mode() != mode:
        raise LabError(f"the lab is up in {current_mode()} mode: `make down` first")
    say(f"mode: {mode} ({'forced by LAB_MODE' if os.environ.get('LAB_MODE') else 'picked automatically'})")
    if mode == "docker":
        ensure_dev_venv()
        run(compose("up", "-d", "--wait"), env={**os.environ, "LAB_PG_PORT": str(PG_PORT)})
    else:
        # Start what is not running: after LocalStack died, `make up` brings back just LocalStack.
        pg_up, ls_up = postgres_running(), localstack_running()
        if ls_up:
            wait_localstack_healthy(timeout=10)
        if pg_up and ls_up:
            say("native stack already running")
            mode_file().write_text(mode)
            return
        check_ports_free(postgres=not pg_up, localstack=not ls_up)
        ensure_native_venvs()
        if not pg_up:
            start_postgres()
        if not ls_up:
            try:
                start_localstack()
            except BaseException:
                if not pg_up:
                    stop_postgres()
                raise
    mode_file().write_text(mode)
    say(f"up in {time.monotonic() - started:.1f} s: LocalStack {ENDPOINT}, Postgres 127.0.0.1:{PG_PORT}")


def cmd_down(_: argparse.Namespace) -> None:
    mode = current_mode()
    if mode == "docker":
        run(compose("down", "--remove-orphans"))
    else:
        stop_localstack()
        stop_postgres()
    mode_file().unlink(missing_ok=True)
    # LocalStack state is gone: the Terraform state describes nothing any more.
    for stale in ("terraform.tfstate", "terraform.tfstate.backup", "localstack-session", "deployed-session"):
        (LAB / stale).unlink(missing_ok=True)
    shutil.rmtree(LAB / "tmp", ignore_errors=True)
    say("down")


def cmd_stop_localstack(_: argparse.Namespace) -> None:
    """Stop LocalStack only (native): what a crash or restart does; `make up apply` recovers."""
    stop_localstack()
    say("LocalStack stopped; Postgres still runs")


def cmd_clean(args: argparse.Namespace) -> None:
    """Down, then delete everything the lab keeps: Postgres data, venvs, build cache, state."""
    if current_mode() == "docker":
        run(compose("down", "-v", "--remove-orphans"))
    cmd_down(args)
    data = pg_dir()
    if data.is_symlink():
        shutil.rmtree(data.resolve(), ignore_errors=True)
    shutil.rmtree(LAB, ignore_errors=True)
    say(f"removed {LAB}")


def require_up() -> str:
    mode = current_mode()
    if mode is None:
        raise LabError("the lab is not up: run `make up` first")
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=3) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise LabError(f"LocalStack at {ENDPOINT} is not answering ({exc}): `make down up`") from exc
    return mode


def localstack_session() -> str:
    with urllib.request.urlopen(f"{ENDPOINT}/_localstack/info", timeout=3) as response:
        info = json.load(response)
    return str(info.get("session_id") or info.get("server_time_utc"))


def terraform_env() -> dict[str, str]:
    require_terraform()
    cli_config = LAB / "terraformrc"
    mirror = find_terraform_mirror()
    cli_config.write_text(
        ""
        if mirror is None
        else f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_DATA_DIR": str(LAB / "terraform-data"),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_INPUT": "0",
    }


def terraform(env: dict[str, str], *args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = ["terraform", f"-chdir={TERRAFORM_DIR}", *args]
    if quiet:
        return run(cmd, quiet_log=LAB / "logs" / f"terraform-{args[0]}.log", env=env)
    return run(cmd, env=env)


def terraform_init(env: dict[str, str]) -> None:
    """Init once per change of the configuration or the lock file (it takes seconds, apply runs often)."""

    def stamp() -> str:
        return stamp_of(
            TERRAFORM_DIR / ".terraform.lock.hcl",
            *sorted(TERRAFORM_DIR.rglob("*.tf")),
            Path(env["TF_CLI_CONFIG_FILE"]),
        )

    stamp_file = LAB / "terraform-data" / ".lab-stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp():
        return
    terraform(
        env,
        "init",
        "-input=false",
        f"-backend-config=path={LAB / 'terraform.tfstate'}",
        "-reconfigure",
        quiet=True,
    )
    stamp_file.write_text(stamp())


def terraform_vars(mode: str) -> list[str]:
    native = mode == "native"
    values = {
        "localstack_endpoint": ENDPOINT,
        "artifacts_dir": str(LAB / "build"),
        "db_host": "127.0.0.1" if native else "postgres",
        "db_port": str(PG_PORT if native else 5432),
        "layer_delivery": os.environ.get("LAYER_DELIVERY", "attach" if native else "bundle"),
        "architecture": os.environ.get("LAMBDA_ARCH", "x86_64"),
        "db_name": DB_NAME,
        "db_app_user": APP_DB_USER,
        "db_app_password": APP_DB_PASSWORD,
    }
    return [f"-var={key}={value}" for key, value in values.items()]


def dev_python() -> str:
    return str(VENV / "bin" / "python")


def cmd_build(_: argparse.Namespace) -> None:
    ensure_dev_venv()
    mode = current_mode() or "native"
    delivery = os.environ.get("LAYER_DELIVERY", "attach" if mode == "native" else "bundle")
    run(
        [
            dev_python(),
            str(ROOT / "scripts" / "build.py"),
            "--out",
            str(LAB / "build"),
            "--delivery",
            delivery,
            "--arch",
            os.environ.get("LAMBDA_ARCH", "x86_64"),
        ]
    )


def cmd_migrate(_: argparse.Namespace) -> None:
    require_up()
    run([dev_python(), str(ROOT / "scripts" / "migrate.py")], env={**os.environ, **db_admin_env()})


def db_admin_env() -> dict[str, str]:
    return {
        "LAB_PG_HOST": "127.0.0.1",
        "LAB_PG_PORT": str(PG_PORT),
        "LAB_PG_PASSWORD": PG_SUPERUSER_PASSWORD,
        "LAB_DB_NAME": DB_NAME,
        "LAB_APP_DB_PASSWORD": APP_DB_PASSWORD,
    }


def cmd_apply(args: argparse.Namespace) -> None:
    mode = require_up()
    started = time.monotonic()
    cmd_build(args)
    cmd_migrate(args)
    env = terraform_env()
    terraform_init(env)
    session_file = LAB / "localstack-session"
    session = localstack_session()
    if session_file.exists() and session_file.read_text() != session:
        say("LocalStack restarted since the last apply: discarding the stale Terraform state")
        for stale in ("terraform.tfstate", "terraform.tfstate.backup"):
            (LAB / stale).unlink(missing_ok=True)
    session_file.write_text(session)  # the state now describes this LocalStack, even if apply fails
    (LAB / "deployed-session").unlink(missing_ok=True)
    terraform(env, "apply", "-auto-approve", "-input=false", *terraform_vars(mode))
    (LAB / "deployed-session").write_text(session)
    say(f"applied in {time.monotonic() - started:.1f} s")
    print_urls(env)


def terraform_outputs(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = env or terraform_env()
    out = subprocess.run(
        ["terraform", f"-chdir={TERRAFORM_DIR}", "output", "-json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["terraform output failed"])[-1]
        raise LabError(f"no Terraform outputs (run `make apply`): {last}")
    return {key: value["value"] for key, value in json.loads(out.stdout).items()}


def print_urls(env: dict[str, str] | None = None) -> None:
    outputs = terraform_outputs(env)
    print()
    print("Ready. Try:")
    examples: list[str] = outputs.get("curl_examples") or []
    for line in examples:
        print(f"  {line}")
    print()


def cmd_outputs(_: argparse.Namespace) -> None:
    print(json.dumps(terraform_outputs(), indent=2))


def cmd_destroy(_: argparse.Namespace) -> None:
    mode = require_up()
    env = terraform_env()
    terraform_init(env)
    terraform(env, "destroy", "-auto-approve", "-input=false", *terraform_vars(mode))


def cmd_logs(args: argparse.Namespace) -> None:
    if args.function:
        cmd_function_logs(args.function, args.lines)
        return
    mode = current_mode()
    if mode == "docker":
        run(compose("logs", "--tail", str(args.lines)))
        return
    for path in (LAB / "localstack.log", pg_dir() / "postgres.log"):
        if path.exists():
            print(f"==> {path} <==")
            print("\n".join(path.read_text(errors="replace").splitlines()[-args.lines :]))


def cmd_check_deployed(_: argparse.Namespace) -> None:
    """Fail with a one-line diagnosis unless the lab is up and deployed to this LocalStack."""
    require_up()
    deployed = LAB / "deployed-session"
    if not deployed.exists() or deployed.read_text() != localstack_session():
        raise LabError("nothing is deployed to this LocalStack: run `make apply`")
    terraform_outputs()


def cmd_validate(_: argparse.Namespace) -> None:
    env = terraform_env()
    terraform_init(env)
    terraform(env, "validate")


def cmd_function_logs(name: str, lines: int) -> None:
    """A function's recent CloudWatch log events (through the dev venv's boto3)."""
    script = (
        "import boto3, sys\n"
        "logs = boto3.client('logs', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='test', aws_secret_access_key='test')\n"
        "group = '/aws/lambda/' + sys.argv[2]\n"
        "pages = logs.get_paginator('filter_log_events').paginate(logGroupName=group)\n"
        "events = [event for page in pages for event in page['events']]\n"
        "events.sort(key=lambda event: event['timestamp'])\n"
        "for event in events[-int(sys.argv[3]):]: print(event['message'].rstrip())\n"
    )
    run([dev_python(), "-c", script, ENDPOINT, name, str(lines)])


def cmd_env(_: argparse.Namespace) -> None:
    """Print the settings tests and tools read (shell syntax)."""
    for key, value in {**db_admin_env(), "LOCALSTACK_ENDPOINT": ENDPOINT, "LAB_DIR": str(LAB)}.items():
        print(f"export {key}={shlex.quote(value)}")


def require_terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        raise LabError("terraform not found on PATH: install Terraform >= 1.9")
    return path


def cmd_doctor(_: argparse.Namespace) -> None:
    """Check the machine's prerequisites without starting anything."""
    checks: dict[str, Callable[[], str]] = {
        "python3.13": find_python313,
        "postgres binaries": lambda: str(find_pg_bindir()),
        "terraform": require_terraform,
        "provider mirror": lambda: str(find_terraform_mirror() or "none (registry init)"),
    }
    failed = False
    for name, check in checks.items():
        try:
            print(f"  ok  {name}: {check()}")
        except LabError as exc:
            failed = True
            print(f"  --  {name}: {exc}")
    print(f"  ..  machine: {platform.machine()}, mode would be {pick_mode()}")
    if failed:
        raise LabError("prerequisites missing (see above)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[[argparse.Namespace], None]] = {
        "up": cmd_up,
        "down": cmd_down,
        "apply": cmd_apply,
        "destroy": cmd_destroy,
        "build": cmd_build,
        "migrate": cmd_migrate,
        "outputs": cmd_outputs,
        "urls": lambda _: print_urls(),
        "env": cmd_env,
        "doctor": cmd_doctor,
        "venv": lambda _: ensure_dev_venv(),
        "check-deployed": cmd_check_deployed,
        "validate": cmd_validate,
        "clean": cmd_clean,
        "stop-localstack": cmd_stop_localstack,
    }
    for name, command in commands.items():
        sub.add_parser(name).set_defaults(func=command)
    logs = sub.add_parser("logs")
    logs.add_argument("--lines", type=int, default=100)
    logs.add_argument("--function", help="a Lambda's name: show its CloudWatch log instead")
    logs.set_defaults(func=cmd_logs)
    args = parser.parse_args()
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        sys.exit(1)
    except subprocess.CalledProcessError as exc:
        print(f"lab: `{shlex.join(exc.cmd)}` failed with status {exc.returncode}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
