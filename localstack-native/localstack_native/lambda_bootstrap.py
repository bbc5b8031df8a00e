"""Runtime loop of one Lambda execution environment, run by the function's own interpreter.

Stdlib only: it runs in a clean Python that has what AWS's runtime has (boto3), not LocalStack.
Protocol with the executor, one JSON document per line on two pipes whose fds it passes:
  LAB_REQUEST_FD (read):  {"invoke-id", "invoked-function-arn", "payload", "trace-id", "deadline-ms"}
  LAB_RESULT_FD (write):  {"type": "ready"|"init-error"|"result"|"error", ...}
stdout/stderr belong to the handler; the executor captures them as the function's log.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The context object AWS's Python runtime passes to a handler."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.aws_request_id: str = request["invoke-id"]
        self.invoked_function_arn: str = request["invoked-function-arn"]
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms: int = request["deadline-ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    # As AWS's runtime does, the trace starts at the user's code, not at the runtime loop calling it.
    while tb and tb[0].filename == __file__:
        del tb[0]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(tb),
    }


def _log_error(error: dict[str, Any]) -> None:
    # AWS's runtime logs "[ERROR] Type: message" followed by the traceback.
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(line.rstrip("\n") for line in error["stackTrace"])
    sys.stderr.write("\n".join(lines) + "\n")


def _load_handler(handler_spec: str) -> Any:
    module_name, _, func_name = handler_spec.rpartition(".")
    if not module_name:
        raise _RuntimeFault(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler_spec}': not enough values to unpack"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _RuntimeFault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise _RuntimeFault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    try:
        return getattr(module, func_name)
    except AttributeError as exc:
        raise _RuntimeFault(
            "Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'"
        ) from exc


class _RuntimeFault(Exception):
    """A failure the runtime itself reports, with a Runtime.* type (init, marshalling)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    def as_error(self) -> dict[str, Any]:
        """A runtime error: AWS gives these no stack trace."""
        return {"errorMessage": self.message, "errorType": self.error_type, "requestId": "", "stackTrace": []}


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _peak_memory_mb() -> int:
    """This process's own peak RSS (ru_maxrss would include the parent's peak from before exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def _configure_path() -> None:
    """AWS's search order: task root, /opt/python/lib/pythonX.Y/site-packages, /opt/python, the runtime's."""
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    # Layers come in the function's order; AWS extracts them in that order into one /opt, so a later
    # layer's file overwrites an earlier one's: here, later layers come first within each /opt folder.
    layers = list(filter(None, os.environ.get("LAB_LAMBDA_LAYERS", "").split(os.pathsep)))[::-1]
    site_packages = [os.path.join(layer, "python", "lib", version, "site-packages") for layer in layers]
    python = [os.path.join(layer, "python") for layer in layers]
    # Run with -I, so neither this file's folder nor PYTHONPATH is on sys.path: only the runtime's own.
    sys.path[:] = [task_root, *site_packages, *python, *sys.path]
    os.chdir(task_root)


def main() -> None:
    result_fd = int(os.environ.pop("LAB_RESULT_FD"))
    request_fd = int(os.environ.pop("LAB_REQUEST_FD"))
    for fd in (result_fd, request_fd):
        os.set_inheritable(fd, False)  # the handler's own subprocesses must not hold the pipes
    results = os.fdopen(result_fd, "w", encoding="utf-8", buffering=1)
    requests = os.fdopen(request_fd, "r", encoding="utf-8")

    def send(message: dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        results.write(json.dumps(message) + "\n")

    started = time.perf_counter()
    try:
        _configure_path()  # a hot-reload folder that is not there (yet) fails the init, not the process
        handler = _load_handler(os.environ["_HANDLER"])
    except Exception as exc:  # e.g. settings validated at import: AWS reports it as the init error
        error = exc.as_error() if isinstance(exc, _RuntimeFault) else _error(exc)
        _log_error(error)
        send({"type": "init-error", "error": error})
        return
    send({"type": "ready", "init-ms": (time.perf_counter() - started) * 1000})

    for line in requests:
        request = json.loads(line)
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace-id") or ""
        context = LambdaContext(request)
        began = time.perf_counter()
        try:
            event = json.loads(request["payload"]) if request["payload"] else {}
            result = handler(event, context)
            try:
                body = json.dumps(result, default=_json_default)
            except (TypeError, ValueError) as exc:
                raise _RuntimeFault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc
            message: dict[str, Any] = {"type": "result", "payload": body}
        except Exception as exc:  # every handler failure becomes a FunctionError, as on AWS
            error = exc.as_error() if isinstance(exc, _RuntimeFault) else _error(exc)
            error["requestId"] = context.aws_request_id
            _log_error(error)
            message = {"type": "error", "error": error}
        message["duration-ms"] = (time.perf_counter() - began) * 1000
        message["max-rss-mb"] = _peak_memory_mb()
        send(message)


if __name__ == "__main__":
    main()
