"""Hot reload, native mode: the time from an edit to the invocation that runs it, against a warm invoke.

Two functions whose code is bucket `hot-reload`, key = a temp folder, with the deployed layer: a
trivial one (its folder: one module), and a lab-shaped one (its folder: a copy of lambdas/; its handler
imports the ping function's handler, so a restart loads what the lab's functions load, with ping's
environment). Each round rewrites the module holding the version and invokes once: that invocation
must answer the new version (no poll), and its round trip is the edit-to-new-behaviour time.
Saves benchmarks/results/hot_reload.json.
Usage: .lab/venv/bin/python benchmarks/hot_reload.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import labtools
from benchmarks import benchlib

ROOT = Path(__file__).resolve().parent.parent

HANDLERS = {
    "trivial": "from hot import version\n",
    # The real handler's imports (powertools, pydantic settings validated at import, psycopg, labcore).
    "lab": "import ping.handler\nfrom hot import version\n",
}
HANDLER_TAIL = "\n\ndef handler(event, context):\n    return {'version': version.VERSION}\n"


@contextmanager
def hot_function(kind: str, layer: str, role: str, environment: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """A hot-reloading function on a fresh folder (deleted afterwards): its name and the folder."""
    with tempfile.TemporaryDirectory(prefix=f"lab-hot-{kind}-") as tmp:
        folder = Path(tmp) / "lambdas"
        if kind == "lab":
            shutil.copytree(ROOT / "lambdas", folder, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "hot").mkdir(parents=True)
        (folder / "hot" / "__init__.py").write_text("")
        (folder / "hot" / "handler.py").write_text(HANDLERS[kind] + HANDLER_TAIL)
        (folder / "hot" / "version.py").write_text("VERSION = 0\n")
        client = labtools.aws_client("lambda")
        name = f"outbox-lab-bench-hot-{kind}-{uuid.uuid4().hex[:6]}"
        client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="hot.handler.handler",
            Code={"S3Bucket": "hot-reload", "S3Key": str(folder)},
            Layers=[layer],
            Timeout=30,
            Environment={"Variables": environment},
        )
        try:
            client.get_waiter("function_active_v2").wait(FunctionName=name)
            yield name, folder
        finally:
            client.delete_function(FunctionName=name)


def invoke(client: Any, name: str) -> tuple[float, int]:
    with benchlib.Stopwatch() as clock:
        response = client.invoke(FunctionName=name, Payload=b"{}")
        body = json.loads(response["Payload"].read())
    if "FunctionError" in response:
        sys.exit(f"bench: {name} failed: {body}")
    return clock.ms, int(body["version"])


def measure(client: Any, name: str, folder: Path, rounds: int) -> dict[str, dict[str, float]]:
    invoke(client, name)  # the first start is a cold start, not a reload
    edits: list[float] = []
    warm: list[float] = []
    for version in range(1, rounds + 1):
        (folder / "hot" / "version.py").write_text(f"VERSION = {version}\n")
        took, answered = invoke(client, name)
        if answered != version:
            sys.exit(f"bench: the invocation after edit {version} ran version {answered}")
        edits.append(took)
        warm.append(invoke(client, name)[0])
    return {"edit_to_new_behaviour_ms": benchlib.quantiles(edits), "warm_invoke_ms": benchlib.quantiles(warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    outputs = labtools.outputs()
    if not outputs.get("layer_arn"):
        sys.exit("bench: no deployed layer (hot reload is measured in native mode)")
    client = labtools.aws_client("lambda")
    ping = client.get_function_configuration(FunctionName=outputs["functions"]["ping"])
    environment = ping.get("Environment", {}).get("Variables", {})
    figures: dict[str, Any] = {"rounds": args.rounds}
    for kind in HANDLERS:
        with hot_function(kind, outputs["layer_arn"], ping["Role"], environment) as (name, folder):
            figures[kind] = measure(client, name, folder, args.rounds)
    print(benchlib.write_results("hot_reload", figures).read_text(), end="")


if __name__ == "__main__":
    main()
