"""Native mode's Postgres: a cluster of the machine's binaries in .lab/postgres, run as the postgres user."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from lab import settings, tools
from lab.process import LabError, run


def as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("runuser"):
        raise LabError("running as root needs runuser to start Postgres as the postgres user")
    return ["runuser", "-u", "postgres", "--", *cmd]


def prepare_pg_dir() -> Path:
    """The data directory; when root, one the postgres user can reach (a private tmp dir may not be)."""
    target = settings.PG_DIR
    if target.is_symlink() or target.exists():
        return target.resolve()
    if os.geteuid() == 0:
        reachable = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-x", str(settings.LAB)], check=False
        )
        if reachable.returncode != 0:
            # Some parent folder (e.g. a 0700 mktemp dir) is closed to the postgres user.
            parent = Path("/var/tmp/outbox-lab")  # noqa: S108 (root creates it; postgres gets one child)
            outside = parent / hashlib.sha256(str(settings.LAB).encode()).hexdigest()[:12]
            outside.mkdir(parents=True, exist_ok=True)
            shutil.chown(outside, "postgres")
            target.symlink_to(outside)
            return outside
    target.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(target, "postgres")
    return target


def data_dir() -> Path:
    # Resolved: the data may live outside .lab (see prepare_pg_dir), where the postgres user can reach it.
    return settings.PG_DIR.resolve() / "data"


def start() -> None:
    """initdb on first use, then pg_ctl start on LAB_PG_PORT (127.0.0.1 only)."""
    bindir = tools.ensure_pg_bindir()
    base = prepare_pg_dir()
    data = base / "data"
    if not (data / "PG_VERSION").exists():
        pwfile = base / "pwfile"
        pwfile.write_text(settings.PG_SUPERUSER_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile)]
        initdb += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
        run(as_postgres(initdb), quiet_log=settings.LOGS / "initdb.log")
        pwfile.unlink()
    options = f"-p {settings.PG_PORT} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "postgres.log")]
    pg_ctl += ["-w", "-t", "30", "-o", options, "start"]
    run(as_postgres(pg_ctl), quiet_log=settings.LOGS / "pg_ctl.log")


def running() -> bool:
    """Our cluster is up, as pg_ctl sees it (a stale postmaster.pid is not enough)."""
    data = data_dir()
    if not (data / "postmaster.pid").exists():
        return False
    status = subprocess.run(
        as_postgres([str(tools.find_pg_bindir() / "pg_ctl"), "-D", str(data), "status"]),
        capture_output=True,
        check=False,
    )
    return status.returncode == 0


def stop() -> None:
    data = data_dir()
    if not (data / "postmaster.pid").exists():
        return
    bindir = tools.find_pg_bindir()
    stop = as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    result = subprocess.run(stop, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"could not stop Postgres in {data}: {result.stderr.strip() or result.stdout.strip()}")


def log_file() -> Path:
    return settings.PG_DIR / "postgres.log"


def admin_env() -> dict[str, str]:
    """The settings migrate.py, the tests and the tools read to reach the lab's Postgres."""
    return {
        "LAB_PG_HOST": "127.0.0.1",
        "LAB_PG_PORT": str(settings.PG_PORT),
        "LAB_PG_PASSWORD": settings.PG_SUPERUSER_PASSWORD,
        "LAB_DB_NAME": settings.DB_NAME,
        "LAB_APP_DB_PASSWORD": settings.APP_DB_PASSWORD,
    }
