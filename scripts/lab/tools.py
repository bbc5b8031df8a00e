"""Finding what the lab needs here: Python 3.13, Postgres, Terraform and its providers, free ports."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path

from lab import settings
from lab.process import LabError, run, say

PG_TOOLS = ("initdb", "pg_ctl", "postgres")


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
        # Every one of them: a client-only install has initdb's neighbours missing.
        if all((Path(candidate) / tool).exists() for tool in PG_TOOLS):
            return Path(candidate)
    raise LabError("no PostgreSQL server binaries (initdb, pg_ctl, postgres)")


def ensure_pg_bindir() -> Path:
    """The Postgres binaries; as root on Debian, installed from apt when missing."""
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
    log = settings.LOGS / "apt.log"
    run(["apt-get", "update"], quiet_log=log, env=env)
    run(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"], quiet_log=log, env=env)
    return find_pg_bindir()


def find_terraform_mirror() -> Path | None:
    """A local provider mirror holding hashicorp/aws: TF_PLUGIN_DIR, or a search of the usual places."""
    if explicit := os.environ.get("TF_PLUGIN_DIR"):
        return Path(explicit)
    suffix = f"registry.terraform.io/hashicorp/aws/{settings.AWS_PROVIDER_VERSION}"
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


def require_terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        raise LabError("terraform not found on PATH: install Terraform >= 1.9")
    return path


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
