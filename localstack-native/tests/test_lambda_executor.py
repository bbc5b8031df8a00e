"""The native Lambda executor seen through LocalStack's real Lambda API: results, errors, logs, layers."""

from __future__ import annotations

import base64
import contextlib
import json
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests_support import poll

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.literals import RuntimeType
    from mypy_boto3_lambda.type_defs import InvocationResponseTypeDef
    from mypy_boto3_logs import CloudWatchLogsClient

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
RUNTIME: RuntimeType = "python3.13"
LAYER_NAME = "lab-exec-test-layer"
pytestmark = pytest.mark.integration  # drives a running LocalStack


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
            Environment={"Variables": environment or {}},
            Layers=layers or [],
        )
        self.functions.append(name)
        self.client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
        return name

    def publish_layer(self, files: dict[str, str]) -> str:
        layer = self.client.publish_layer_version(
            LayerName=LAYER_NAME,
            Content={"ZipFile": build_zip(self.workdir / f"{LAYER_NAME}.zip", files)},
            CompatibleRuntimes=[RUNTIME],
        )
        self.layers.add(LAYER_NAME)
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
def lab(aws: Callable[[str], Any], tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(aws("lambda"), aws("logs"), tmp_path)
    yield lab
    lab.remove_all()


ECHO_MARKER = """
    def handle(event, context):
        print(event["marker"])
        return {"marker": event["marker"], "request_id": context.aws_request_id}
"""


def test_handler_sees_its_environment_and_reaches_localstack_with_boto3(
    lab: Lab, aws: Callable[[str], Any]
) -> None:
    sqs = aws("sqs")
    queue_name = f"lab-exec-{uuid.uuid4().hex[:12]}"
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    source = """
        import os
        import boto3

        def handle(event, context):
            urls = boto3.client("sqs").list_queues(QueueNamePrefix=event["prefix"]).get("QueueUrls", [])
            names = [url.rsplit("/", 1)[-1] for url in urls]
            return {"greeting": os.environ["LAB_GREETING"], "queues": names}
    """
    try:
        name = lab.deploy(source, environment={"LAB_GREETING": "hello from the test"})

        response, payload = lab.invoke(name, {"prefix": queue_name})
    finally:
        sqs.delete_queue(QueueUrl=queue_url)

    assert "FunctionError" not in response
    assert payload == {"greeting": "hello from the test", "queues": [queue_name]}


def test_tail_log_frames_handler_output_and_payload_stays_json(lab: Lab) -> None:
    name = lab.deploy(ECHO_MARKER)
    marker = f"marker-{uuid.uuid4().hex}"

    response, payload = lab.invoke(name, {"marker": marker}, LogType="Tail")

    request_id = response["ResponseMetadata"]["RequestId"]
    assert payload == {"marker": marker, "request_id": request_id}
    log = base64.b64decode(response["LogResult"]).decode()
    positions = [
        log.find(line)
        for line in (
            f"START RequestId: {request_id}",
            marker,
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}",
        )
    ]
    assert -1 not in positions, log
    assert positions == sorted(positions), log


def test_unhandled_exception_is_a_function_error(lab: Lab) -> None:
    source = """
        def handle(event, context):
            raise ValueError(f"order {event['order']} rejected")
    """
    name = lab.deploy(source)

    response, payload = lab.invoke(name, {"order": 42})

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "order 42 rejected"


def test_import_error_is_reported_as_runtime_import_module_error(lab: Lab) -> None:
    name = lab.deploy("import lab_no_such_module\n\ndef handle(event, context):\n    return 1\n")

    response, payload = lab.invoke(name, {})

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "lab_no_such_module" in payload["errorMessage"]


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


def test_process_exit_is_a_runtime_exit_error_not_a_timeout(lab: Lab) -> None:
    source = """
        import os

        def handle(event, context):
            if event.get("exit"):
                os._exit(3)
            return "alive"
    """
    name = lab.deploy(source, timeout=3)

    started = time.monotonic()
    response, crashed = lab.invoke(name, {"exit": True})
    elapsed = time.monotonic() - started
    _, after = lab.invoke(name, {})

    assert response["FunctionError"] == "Unhandled"
    assert crashed["errorType"] == "Runtime.ExitError"
    assert elapsed < 3, "a crash is reported at once, not after the timeout"
    assert after == "alive"


def test_layer_module_is_importable(lab: Lab) -> None:
    token = uuid.uuid4().hex
    layer_arn = lab.publish_layer({"python/labtestmod.py": f"TOKEN = {token!r}\n"})
    source = """
        import labtestmod

        def handle(event, context):
            return labtestmod.TOKEN
    """
    name = lab.deploy(source, layers=[layer_arn])

    response, payload = lab.invoke(name, {})

    assert "FunctionError" not in response
    assert payload == token


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
