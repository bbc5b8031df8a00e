"""The native Lambda executor seen through LocalStack's real Lambda API: results, errors, logs, layers."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import re
import signal
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.literals import RuntimeType
    from mypy_boto3_lambda.type_defs import InvocationResponseTypeDef
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
RUNTIME: RuntimeType = "python3.13"
LAYER_NAME = "lab-exec-test-layer"
pytestmark = pytest.mark.integration  # drives a running LocalStack


def poll[T](fetch: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Call fetch until it returns something truthy; fail with `what` when the deadline passes."""
    deadline = time.monotonic() + timeout
    while not (value := fetch()):
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return value


def build_zip(path: Path, files: dict[str, str]) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return path.read_bytes()


class Lab:
    """Deploys throwaway functions and layers, invokes them, and removes everything afterwards."""

    def __init__(self, client: LambdaClient, logs: CloudWatchLogsClient, workdir: Path) -> None:
        self.client = client
        self.logs = logs
        self.workdir = workdir
        self.functions: list[str] = []
        self.layers: set[str] = set()

    def deploy(
        self,
        source: str,
        *,
        timeout: int = 3,
        memory: int = 128,
        environment: dict[str, str] | None = None,
        layers: list[str] | None = None,
    ) -> str:
        name = f"lab-exec-{uuid.uuid4().hex[:12]}"
        self.client.create_function(
            FunctionName=name,
            Runtime=RUNTIME,
            Role=ROLE,
            Handler="handler.handle",
            Code={"ZipFile": build_zip(self.workdir / f"{name}.zip", {"handler.py": source})},
            Timeout=timeout,
            MemorySize=memory,
            Environment={"Variables": environment or {}},
            Layers=layers or [],
        )
        self.functions.append(name)
        self.client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
        return name

    def publish_layer(self, files: dict[str, str], name: str = LAYER_NAME) -> str:
        layer = self.client.publish_layer_version(
            LayerName=name,
            Content={"ZipFile": build_zip(self.workdir / f"{name}.zip", files)},
            CompatibleRuntimes=[RUNTIME],
        )
        self.layers.add(name)
        return layer["LayerVersionArn"]

    def invoke(self, name: str, event: Any, **kwargs: Any) -> tuple[InvocationResponseTypeDef, Any]:
        response = self.client.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
        return response, json.loads(response["Payload"].read())

    def remove_all(self) -> None:
        for name in self.functions:
            self.client.delete_function(FunctionName=name)
            with contextlib.suppress(self.logs.exceptions.ResourceNotFoundException):
                self.logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
        for layer in self.layers:
            versions = self.client.list_layer_versions(LayerName=layer)["LayerVersions"]
            # LocalStack's ListLayers fails once a layer has no version left, so the newest stays.
            for version in sorted(item["Version"] for item in versions)[:-1]:
                self.client.delete_layer_version(LayerName=layer, VersionNumber=version)


@pytest.fixture
def lab(lambda_client: LambdaClient, logs_client: CloudWatchLogsClient, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(lambda_client, logs_client, tmp_path)
    yield lab
    lab.remove_all()


ECHO_MARKER = """
    print("init-marker")

    def handle(event, context):
        print(event["marker"])
        return {"marker": event["marker"], "request_id": context.aws_request_id}
"""
REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>[\d.]+) ms\tBilled Duration: (?P<billed>\d+) ms\t"
    r"Memory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
)


def test_handler_sees_its_context_environment_and_reaches_localstack(lab: Lab, sqs_client: SQSClient) -> None:
    queue_name = f"lab-exec-{uuid.uuid4().hex[:12]}"
    queue_url = sqs_client.create_queue(QueueName=queue_name)["QueueUrl"]
    source = """
        import os, shutil, sys, tempfile
        import boto3

        def handle(event, context):
            remaining_ms = context.get_remaining_time_in_millis()
            urls = boto3.client("sqs").list_queues(QueueNamePrefix=event["prefix"]).get("QueueUrls", [])
            return {
                "greeting": os.environ["LAB_GREETING"],
                "queues": [url.rsplit("/", 1)[-1] for url in urls],
                "context": [context.function_name, context.memory_limit_in_mb],
                "remaining_ms": remaining_ms,
                "cwd_is_task_root": os.getcwd() == os.environ["LAMBDA_TASK_ROOT"],
                "private_home_and_tmp": tempfile.gettempdir() == os.environ["HOME"],
                "runtime_first_on_path": shutil.which("python3").startswith(sys.prefix + "/bin/"),
            }
    """
    try:
        name = lab.deploy(source, environment={"LAB_GREETING": "hello from the test"}, timeout=5, memory=192)

        response, payload = lab.invoke(name, {"prefix": queue_name})
    finally:
        sqs_client.delete_queue(QueueUrl=queue_url)

    assert "FunctionError" not in response, payload
    remaining_ms = payload.pop("remaining_ms")
    assert payload == {
        "greeting": "hello from the test",
        "queues": [queue_name],
        "context": [name, "192"],
        "cwd_is_task_root": True,
        "private_home_and_tmp": True,
        "runtime_first_on_path": True,
    }
    assert 3_000 < remaining_ms <= 5_000, "the deadline is the function's timeout from the invoke"


def test_each_invoke_has_its_own_framed_log_and_the_first_carries_the_init(lab: Lab) -> None:
    name = lab.deploy(ECHO_MARKER, memory=256)
    markers = [f"marker-{uuid.uuid4().hex}" for _ in range(2)]

    invokes = [lab.invoke(name, {"marker": marker}, LogType="Tail") for marker in markers]

    logs = [base64.b64decode(response["LogResult"]).decode() for response, _ in invokes]
    for (response, payload), marker, log in zip(invokes, markers, logs, strict=True):
        request_id = response["ResponseMetadata"]["RequestId"]
        assert payload == {"marker": marker, "request_id": request_id}
        frame = (f"START RequestId: {request_id}", marker, f"END RequestId: {request_id}", "REPORT RequestId")
        positions = [log.find(line) for line in frame]
        assert -1 not in positions and positions == sorted(positions), log
        report = REPORT.search(log)
        assert report is not None and report["id"] == request_id, log
        assert int(report["billed"]) == math.ceil(float(report["duration"])), log
        assert (report["size"], int(report["used"]) > 0) == ("256", True), log
    cold, warm = logs
    assert "init-marker" in cold and "\tInit Duration: " in cold, cold
    assert "init-marker" not in warm and "Init Duration" not in warm, warm
    assert markers[0] not in warm, "an invoke's log holds its own output only"


@pytest.mark.parametrize(
    ("body", "error_type", "message", "frames"),
    [
        ("raise ValueError(f\"order {event['order']} rejected\")", "ValueError", "order 42 rejected", 1),
        ("return {event['order']}", "Runtime.MarshalError",
         "Unable to marshal response: Object of type set is not JSON serializable", 0),
    ],
)  # fmt: skip
def test_handler_failures_are_function_errors(
    lab: Lab, body: str, error_type: str, message: str, frames: int
) -> None:
    name = lab.deploy(f"def handle(event, context):\n    {body}\n")

    response, payload = lab.invoke(name, {"order": 42})

    assert response["FunctionError"] == "Unhandled"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert (payload["errorType"], payload["errorMessage"], payload["requestId"]) == (
        error_type,
        message,
        request_id,
    )
    assert len(payload["stackTrace"]) == frames, payload


@pytest.mark.parametrize(
    ("source", "error_type", "detail"),
    [
        ("import lab_no_such_module\n", "Runtime.ImportModuleError", "lab_no_such_module"),
        ("def handle(event, context)\n    return 1\n", "Runtime.UserCodeSyntaxError", "(handler.py, line 1)"),
    ],
)
def test_init_errors_have_aws_runtime_types(lab: Lab, source: str, error_type: str, detail: str) -> None:
    name = lab.deploy(source)

    response, payload = lab.invoke(name, {})

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == error_type
    assert detail in payload["errorMessage"]


def test_a_failed_init_is_retried_by_the_next_invoke(lab: Lab, tmp_path: Path) -> None:
    source = """
        import os, pathlib

        tried = pathlib.Path(os.environ["LAB_TRIED"])
        if not tried.exists():
            tried.touch()
            raise RuntimeError("the first init fails")

        def handle(event, context):
            return "initialised"
    """
    name = lab.deploy(source, environment={"LAB_TRIED": str(tmp_path / "tried")})

    first, failed = lab.invoke(name, {})
    second, answer = lab.invoke(name, {})

    assert first["FunctionError"] == "Unhandled"
    assert (failed["errorType"], failed["errorMessage"]) == ("RuntimeError", "the first init fails")
    assert "FunctionError" not in second
    assert answer == "initialised"


def test_timeout_is_reported_and_the_environment_replaced(lab: Lab) -> None:
    source = """
        import time

        calls = 0

        def handle(event, context):
            global calls
            calls += 1
            print("going to sleep", event.get("sleep", 0))
            time.sleep(event.get("sleep", 0))
            return calls
    """
    name = lab.deploy(source, timeout=1)

    warm = [lab.invoke(name, {})[1] for _ in range(2)]
    response, timed_out = lab.invoke(name, {"sleep": 3}, LogType="Tail")
    after, count = lab.invoke(name, {})
    log = base64.b64decode(response["LogResult"]).decode()

    assert warm == [1, 2], "invocations share one warm environment"
    assert response["FunctionError"] == "Unhandled"
    assert timed_out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out["errorMessage"]
    assert "going to sleep 3" in log, "output printed before the timeout is kept"
    assert "Task timed out after 1.00 seconds" in log
    assert "FunctionError" not in after
    assert count == 1, "the next invocation runs in a fresh environment"


def test_process_exit_is_a_runtime_exit_error_even_with_a_child_left_behind(lab: Lab) -> None:
    source = """
        import os, subprocess

        def handle(event, context):
            if event.get("spawn"):
                return subprocess.Popen(["sleep", "30"], close_fds=False, start_new_session=True).pid
            if event.get("exit"):
                os._exit(3)
            return "alive"
    """
    name = lab.deploy(source, timeout=3)

    _, leftover = lab.invoke(name, {"spawn": True})
    try:
        started = time.monotonic()
        response, crashed = lab.invoke(name, {"exit": True})
        elapsed = time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leftover, signal.SIGKILL)
    _, after = lab.invoke(name, {})

    assert response["FunctionError"] == "Unhandled"
    assert crashed["errorType"] == "Runtime.ExitError"
    assert elapsed < 3, "a crash is reported at once, not after the timeout"
    assert after == "alive"


def test_layers_stack_as_in_opt_with_the_later_layer_winning(lab: Lab) -> None:
    token = uuid.uuid4().hex
    first = lab.publish_layer(
        {
            "python/lab_layer_first.py": f"TOKEN = {token!r}\n",
            "python/lab_layer_both.py": "ORIGIN = 'first'\n",
            "python/lab_layer_site.py": "ORIGIN = 'python/'\n",
        },
        name=f"{LAYER_NAME}-first",
    )
    second = lab.publish_layer(
        {
            "python/lab_layer_both.py": "ORIGIN = 'second'\n",
            "python/lib/python3.13/site-packages/lab_layer_site.py": "ORIGIN = 'site-packages'\n",
        },
        name=f"{LAYER_NAME}-second",
    )
    source = """
        import lab_layer_both, lab_layer_first, lab_layer_site

        def handle(event, context):
            return [lab_layer_first.TOKEN, lab_layer_both.ORIGIN, lab_layer_site.ORIGIN]
    """
    name = lab.deploy(source, layers=[first, second])

    response, payload = lab.invoke(name, {})

    assert "FunctionError" not in response, payload
    assert payload == [token, "second", "site-packages"]


def test_handler_output_reaches_cloudwatch_logs(lab: Lab) -> None:
    name = lab.deploy(ECHO_MARKER)
    marker = f"marker-{uuid.uuid4().hex}"

    lab.invoke(name, {"marker": marker})

    def marker_events() -> list[str]:
        try:
            events = lab.logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except lab.logs.exceptions.ResourceNotFoundException:
            return []
        return [event["message"] for event in events if marker in event["message"]]

    assert poll(marker_events, timeout=10, what=f"{marker} in /aws/lambda/{name}")
