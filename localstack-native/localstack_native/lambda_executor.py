"""A LocalStack RuntimeExecutor that runs a function environment as a local Python process.

Selected with LAMBDA_RUNTIME_EXECUTOR=native. Interpreters per runtime come from
LAB_LAMBDA_RUNTIMES ("python3.13=/path/to/python,..."): a clean Python with boto3, as on AWS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localstack import config
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from localstack_native import hot_reload

LOG = logging.getLogger(__name__)
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
LOG_TAIL_BYTES = 1_000_000
# After the handler's deadline, how long to wait before declaring a timeout (process hand-off).
TIMEOUT_GRACE_S = 0.05


def runtime_interpreters() -> dict[str, str]:
    """Parse LAB_LAMBDA_RUNTIMES into {runtime: interpreter path}."""
    mapping: dict[str, str] = {}
    for item in filter(None, os.environ.get("LAB_LAMBDA_RUNTIMES", "").split(",")):
        runtime, _, path = item.partition("=")
        mapping[runtime.strip()] = path.strip()
    return mapping


def interpreter_for(function_version: FunctionVersion) -> str:
    runtime = function_version.config.runtime
    path = runtime_interpreters().get(str(runtime))
    if not path:
        configured = os.environ.get("LAB_LAMBDA_RUNTIMES", "")
        raise LambdaRuntimeException(
            f"Runtime {runtime} is not available to the native executor (LAB_LAMBDA_RUNTIMES={configured!r})"
        )
    if not os.access(path, os.X_OK):
        raise LambdaRuntimeException(f"Interpreter for runtime {runtime} is not executable: {path}")
    return path


class NativeRuntimeExecutor(RuntimeExecutor):
    """One execution environment = one bootstrap process, restarted after a timeout or crash."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._env_vars: dict[str, str] = {}
        self._workdir = Path(tempfile.mkdtemp(prefix=f"lab-lambda-{id[:8]}-"))
        self._log_path = self._workdir / "output.log"
        self._log_path.touch()
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: Any = None
        self._results: Any = None
        self._init_report: dict[str, Any] | None = None
        self._init_offset = 0
        self._lock = threading.Lock()
        self._stopped = False
        # Hot reloading (S3Bucket=hot-reload): the folders whose change restarts the process.
        self._watched = hot_reload.watched_folders(function_version)
        self._snapshot: hot_reload.Snapshot = frozenset()

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        self._env_vars = {key: str(value) for key, value in env_vars.items()}
        self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._kill()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _process_env(self) -> dict[str, str]:
        fv = self.function_version
        code = fv.config.code
        task_root = str(code.get_unzipped_code_location()) if code else str(self._workdir)
        layers = [str(layer.code.get_unzipped_code_location()) for layer in fv.config.layers]
        interpreter = interpreter_for(fv)
        env = {
            "PATH": f"{Path(interpreter).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self._workdir),
            "TMPDIR": str(self._workdir),
            **self._env_vars,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            # In the function's order: the bootstrap lets later layers win, as they do in AWS's /opt.
            "LAB_LAMBDA_LAYERS": os.pathsep.join(layers),
        }
        return env

    def _spawn(self) -> None:
        interpreter = interpreter_for(self.function_version)
        self._init_offset = self._log_path.stat().st_size
        # Taken before the process reads any file: an edit during its start restarts it once more.
        self._snapshot = hot_reload.snapshot(self._watched)
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        log = open(self._log_path, "ab")  # noqa: SIM115 (the child holds it; closed right after the fork)
        try:
            env = {
                **self._process_env(),
                "LAB_RESULT_FD": str(result_write),
                "LAB_REQUEST_FD": str(request_read),
            }
            self._process = subprocess.Popen(
                # -I: nothing of LocalStack's environment on sys.path; -B: the task root is read-only;
                # -u: output reaches the log even when a timeout kills the process.
                [interpreter, "-I", "-B", "-u", str(BOOTSTRAP)],
                env=env,
                cwd=str(self._workdir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(result_write, request_read),
            )
        except BaseException:
            os.close(request_write)  # our ends too: nothing will ever use them
            os.close(result_read)
            raise
        finally:
            log.close()
            os.close(request_read)
            os.close(result_write)
        self._requests = os.fdopen(request_write, "w", encoding="utf-8", buffering=1)
        self._results = os.fdopen(result_read, "r", encoding="utf-8")
        try:
            message = self._read_message(time.monotonic() + config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        except _EnvironmentExited:
            message = None
        if message is None:
            logs = self._read_log(self._init_offset)
            self._kill()
            raise LambdaRuntimeException(f"Lambda environment {self.id} did not get ready: {logs[-2000:]}")
        self._init_report = message

    def _kill(self) -> None:
        process, self._process = self._process, None
        for stream in (self._requests, self._results):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._requests = self._results = None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # --- invocation ----------------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = int(self.function_version.config.timeout)
        with self._lock:
            if self._stopped:
                raise LambdaRuntimeException(f"Lambda environment {self.id} is stopped")
            if self._process is None or self._process.poll() is not None or self._code_changed():
                self._kill()
                self._spawn()
            init = self._init_report or {}
            self._init_report = None
            # The first invoke of an environment also carries what the init printed.
            offset = self._init_offset if init else self._log_path.stat().st_size
            if init.get("type") == "init-error":
                # As on AWS, a failed init is reported to the caller and retried by the next invoke.
                logs = self._read_log(offset)
                self._kill()
                return self._result(request_id, init["error"], True, logs, None, init)
            started = time.monotonic()
            deadline_ms = int(time.time() * 1000) + timeout_s * 1000
            try:
                self._requests.write(json.dumps({**payload, "deadline-ms": deadline_ms}) + "\n")
                message = self._read_message(started + timeout_s + TIMEOUT_GRACE_S)
                failure = (
                    None if message else ("Sandbox.Timedout", f"Task timed out after {timeout_s:.2f} seconds")
                )
            except (_EnvironmentExited, BrokenPipeError):  # exited before or while we sent the event
                message, failure = None, ("Runtime.ExitError", "Runtime exited without providing a reason")
            if message is None or failure is not None:
                error_type, reason = failure or ("Sandbox.Timedout", "no result")
                self._kill()  # the next invoke starts a fresh environment, as on AWS
                logs = self._read_log(offset)
                if error_type == "Sandbox.Timedout":
                    logs += f"{_now()} {request_id} {reason}\n"
                error = {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {reason}"}
                report = {"duration-ms": (time.monotonic() - started) * 1000}
                return self._result(request_id, error, True, logs, report, init)
            logs = self._read_log(offset)
            if message["type"] == "result":
                return self._result(request_id, message["payload"], False, logs, message, init)
            return self._result(request_id, message["error"], True, logs, message, init)

    def _code_changed(self) -> bool:
        """A hot-reloading folder changed since the process started: it must not run the old code."""
        if not self._watched or hot_reload.snapshot(self._watched) == self._snapshot:
            return False
        LOG.info("Hot reload: %s changed, restarting %s", self.function_version.id.qualified_arn(), self.id)
        return True

    def _read_message(self, deadline: float) -> dict[str, Any] | None:
        """The next message from the result pipe; None past the deadline; raises if the process ended."""
        assert self._results is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._results], [], [], remaining)
            if ready:
                line = self._results.readline()
                if not line:
                    raise _EnvironmentExited
                return dict(json.loads(line))

    def _read_log(self, offset: int) -> str:
        with open(self._log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def _result(
        self,
        request_id: str,
        payload: Any,
        is_error: bool,
        output: str,
        report: dict[str, Any] | None,
        init: dict[str, Any],
    ) -> InvocationResult:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        duration = (report or {}).get("duration-ms", 0.0)
        memory = self.function_version.config.memory_size
        report_line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: {memory} MB\t"
            f"Max Memory Used: {(report or {}).get('max-rss-mb', 0)} MB\t"
        )
        if "init-ms" in init:
            report_line += f"Init Duration: {init['init-ms']:.2f} ms\t"
        if output and not output.endswith("\n"):
            output += "\n"
        logs = (
            f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n"
            f"{output}END RequestId: {request_id}\n{report_line}\n"
        )
        return InvocationResult(request_id=request_id, payload=body.encode(), is_error=is_error, logs=logs)

    # --- the rest of the RuntimeExecutor interface ---------------------------------------------
    def get_address(self) -> str:
        return _gateway_host()

    def get_endpoint_from_executor(self) -> str:
        return _gateway_host()

    def get_runtime_endpoint(self) -> str:
        return f"http://{_gateway_host()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        size = self._log_path.stat().st_size if self._log_path.exists() else 0
        return self._read_log(max(0, size - LOG_TAIL_BYTES)) if size else ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.package_type != "Zip":
            raise LambdaRuntimeException("The native executor runs Zip packages only")
        interpreter_for(function_version)
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers:
            layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing beyond LocalStack's own code cache is prepared per version."""

    @classmethod
    def validate_environment(cls) -> bool:
        if not runtime_interpreters():
            LOG.warning("LAB_LAMBDA_RUNTIMES is empty: the native executor cannot run any function")
            return False
        return True


class _EnvironmentExited(Exception):
    """The function's process closed the result pipe: it exited or crashed."""


def _gateway_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 (a comparison, not a bind)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
