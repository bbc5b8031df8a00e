"""Hot reloading through LocalStack's Lambda API: code from the `hot-reload` bucket runs a live folder."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import textwrap
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

LOG = logging.getLogger(__name__)
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
HOT_RELOAD_BUCKET = "hot-reload"  # LocalStack's BUCKET_MARKER_LOCAL default
pytestmark = pytest.mark.integration  # drives a running LocalStack

# The lab's shape: the folder is the task root with a package per function (imports are absolute,
# from the folder on sys.path), and the dependencies come from a zip layer.
HANDLER = """
    import os
    import greeting
    from app import helper

    def handle(event, context):
        return {"handler": VERSION, "helper": helper.VERSION, "layer": greeting.TEXT, "pid": os.getpid()}
"""


def write(path: Path, source: str) -> None:
    path.write_text(textwrap.dedent(source))


class HotLab:
    """Creates hot-reloading functions (and a zip layer) and deletes them afterwards."""

    def __init__(self, client: LambdaClient) -> None:
        self.client = client
        self.functions: list[str] = []
        self.layer = f"lab-hot-{uuid.uuid4().hex[:12]}"
        self.layer_versions: list[int] = []

    def zip_layer(self, files: dict[str, str]) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, source in files.items():
                archive.writestr(name, textwrap.dedent(source))
        layer = self.client.publish_layer_version(
            LayerName=self.layer, Content={"ZipFile": buffer.getvalue()}, CompatibleRuntimes=["python3.13"]
        )
        self.layer_versions.append(layer["Version"])
        return layer["LayerVersionArn"]

    def create(self, folder: Path, handler: str, layers: list[str] | None = None) -> str:
        name = f"lab-hot-{uuid.uuid4().hex[:12]}"
        self.client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=ROLE,
            Handler=handler,
            Code={"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": str(folder)},
            Timeout=10,
            Layers=layers or [],
        )
        self.functions.append(name)
        return name

    def invoke(self, name: str) -> Any:
        response = self.client.invoke(FunctionName=name, Payload=b"{}")
        payload = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, payload
        return payload

    def remove_all(self) -> None:
        for name in self.functions:
            self.client.delete_function(FunctionName=name)
        for version in self.layer_versions:
            with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):
                self.client.delete_layer_version(LayerName=self.layer, VersionNumber=version)


@pytest.fixture
def hot(lambda_client: LambdaClient) -> Iterator[HotLab]:
    lab = HotLab(lambda_client)
    yield lab
    lab.remove_all()


def test_edits_in_the_folder_apply_to_the_next_invoke_with_the_layer_still_applied(
    hot: HotLab, lambda_client: LambdaClient, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    write(app / "handler.py", "VERSION = 1\n" + textwrap.dedent(HANDLER))
    write(app / "helper.py", "VERSION = 1\n")
    layer = hot.zip_layer({"python/greeting.py": "TEXT = 'from the layer'\n"})
    name = hot.create(tmp_path, "app.handler.handle", [layer])
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    code = lambda_client.get_function(FunctionName=name)["Code"]

    first = hot.invoke(name)
    warm = hot.invoke(name)
    write(app / "handler.py", (app / "handler.py").read_text().replace("VERSION = 1", "VERSION = 2"))
    edited = time.monotonic()
    after_handler_edit = hot.invoke(name)
    handler_reload_s = time.monotonic() - edited
    write(app / "helper.py", "VERSION = 'two'\n")
    after_helper_edit = hot.invoke(name)
    unchanged = hot.invoke(name)

    assert code["Location"] == f"file://{tmp_path}", "LocalStack took the code as hot-reloading"
    assert (first["handler"], first["helper"], first["layer"]) == (1, 1, "from the layer")
    assert warm == first, "no change: the warm environment is reused"
    assert (after_handler_edit["handler"], after_handler_edit["helper"]) == (2, 1)
    assert after_handler_edit["pid"] != first["pid"], "a change restarts the environment"
    assert (after_helper_edit["handler"], after_helper_edit["helper"]) == (2, "two"), "any file counts"
    assert after_helper_edit["layer"] == "from the layer"
    assert unchanged == after_helper_edit
    LOG.info("hot reload: edit to new behaviour in %.0f ms (one cold invoke)", handler_reload_s * 1000)


def test_a_folder_created_after_the_function_is_picked_up(
    hot: HotLab, lambda_client: LambdaClient, tmp_path: Path
) -> None:
    folder = tmp_path / "later"
    name = hot.create(folder, "handler.handle")
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})

    before = lambda_client.invoke(FunctionName=name, Payload=b"{}")
    failure = json.loads(before["Payload"].read())
    folder.mkdir()
    write(folder / "handler.py", "def handle(event, context):\n    return 'there now'\n")
    after = hot.invoke(name)

    assert before["FunctionError"] == "Unhandled"
    assert failure["errorType"] == "FileNotFoundError" and str(folder) in failure["errorMessage"], failure
    assert after == "there now"
