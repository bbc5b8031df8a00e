"""The lab's fault-injection points, in one place: a proxy between a function and SQS, and killing a
function's running environments. The fault suite (tests/faults) and the soak benchmark use them.

- `FaultProxy`: an HTTP proxy in front of LocalStack. `sqs_through(proxy, function)` points one
  function's SQS client at it (boto3 reads AWS_ENDPOINT_URL_SQS before AWS_ENDPOINT_URL), and the
  proxy does to that function's sends (SendMessage, SendMessageBatch) what its mode says:
  `pass` forwards them, `refuse` answers 503 as an SQS outage would, `duplicate` forwards each
  twice (every message is delivered twice), and `hold_next()` forwards the next send but holds its
  answer until `release()`: the function has published and waits, the moment to kill it.
- `kill_environments(function)`: SIGKILL every process running one of the function's environments
  (native mode: the executor runs each as a process on this machine).

Run standalone to try it by hand: python scripts/faultinject.py proxy --mode refuse (prints the URL).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODES = ("pass", "refuse", "duplicate")
SENDS = ("SendMessage", "SendMessageBatch")
HOLD_LIMIT_S = 60.0  # a held answer is let go after this even if nobody releases it
REFUSAL = json.dumps(
    {"__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "fault proxy: SQS is refusing sends"}
).encode()


@dataclass(frozen=True)
class Send:
    """One send the proxy saw: when, what it did with it, and the ids of its entries."""

    at: float  # time.monotonic()
    action: str
    ids: tuple[str, ...]
    outcome: str  # forwarded | refused | duplicated | held


class FaultProxy:
    """A threaded HTTP proxy to `target`; mode and records are safe to read and change while it runs."""

    def __init__(self, target: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = urlsplit(target)
        self.mode = "pass"
        self.calls = 0  # every request, sends or not
        self.sends: list[Send] = []
        self.held = threading.Event()  # set once a held send has been forwarded
        self._hold_next = False
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = _QuietServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"fault proxy mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def hold_next(self) -> None:
        """Forward the next send but hold its answer until `release()`."""
        with self._lock:
            self._hold_next, self._release = True, threading.Event()
            self.held.clear()

    def release(self) -> None:
        self._release.set()

    def forwarded_ids(self) -> Counter[str]:
        """How many times each entry id reached SQS (a duplicated send counts twice)."""
        counts: Counter[str] = Counter()
        with self._lock:
            for send in self.sends:
                if send.outcome != "refused":
                    counts.update(send.ids * (2 if send.outcome == "duplicated" else 1))
        return counts

    def _record(self, send: Send) -> None:
        with self._lock:
            self.sends.append(send)

    def _take_hold(self) -> threading.Event | None:
        with self._lock:
            if not self._hold_next:
                return None
            self._hold_next = False
            return self._release

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[Any], bytes]:
        connection = http.client.HTTPConnection(
            self.target.hostname or "localhost", self.target.port, timeout=30
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller that hangs up (killed, or timed out on a held answer) is expected here, not news."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _action_and_ids(headers: Any, body: bytes) -> tuple[str, tuple[str, ...]]:
    """The SQS action of a request and its entries' ids, in the JSON or the query protocol."""
    target = headers.get("X-Amz-Target", "")
    if target:
        action = target.rpartition(".")[2]
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return action, ()
        entries = request.get("Entries", []) if isinstance(request, dict) else []
        return action, tuple(str(entry.get("Id", "")) for entry in entries if isinstance(entry, dict))
    form = parse_qs(body.decode("utf-8", "replace"))
    ids = tuple(value[0] for key, value in sorted(form.items()) if key.endswith(".Id"))
    return form.get("Action", [""])[0], ids


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as boto3 expects

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the records are the log

        def _proxy(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with proxy._lock:
                proxy.calls += 1
            action, ids = _action_and_ids(self.headers, body)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            if action not in SENDS:
                self._answer(*proxy.forward(self.command, self.path, headers, body))
                return
            if proxy.mode == "refuse":
                proxy._record(Send(time.monotonic(), action, ids, "refused"))
                self._answer(503, [("Content-Type", "application/x-amz-json-1.0")], REFUSAL)
                return
            release = proxy._take_hold()
            answer = proxy.forward(self.command, self.path, headers, body)
            if release is not None:
                proxy._record(Send(time.monotonic(), action, ids, "held"))
                proxy.held.set()
                release.wait(HOLD_LIMIT_S)
            elif proxy.mode == "duplicate":
                proxy.forward(self.command, self.path, headers, body)
                proxy._record(Send(time.monotonic(), action, ids, "duplicated"))
            else:
                proxy._record(Send(time.monotonic(), action, ids, "forwarded"))
            self._answer(*answer)

        def _answer(self, status: int, headers: list[Any], body: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in (
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the caller is gone (killed while we held its answer)

        do_GET = do_POST = do_PUT = do_DELETE = _proxy

    return Handler


@contextmanager
def sqs_through(proxy: FaultProxy, function_name: str, lambda_client: Any) -> Iterator[FaultProxy]:
    """Point `function_name`'s SQS calls at the proxy; its own environment comes back afterwards.

    Changing the configuration replaces the function's environments, as on AWS. The function is
    invoked (with {"source": "faultinject"}) until a call comes through the proxy: it must be one
    that reaches SQS at every cold start, as the dispatcher does (it resolves its queues' URLs).
    """
    original = lambda_client.get_function_configuration(FunctionName=function_name)
    variables = dict(original.get("Environment", {}).get("Variables", {}))
    _set_environment(lambda_client, function_name, {**variables, "AWS_ENDPOINT_URL_SQS": proxy.url})
    # "Updated" is not yet "in use": an environment of the old configuration can still take the
    # next invocations (LocalStack 4.14). Invoke until one comes through the proxy.
    calls, deadline = proxy.calls, time.monotonic() + 60
    while proxy.calls == calls:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{function_name} does not call SQS through {proxy.url} after 60 s")
        lambda_client.invoke(FunctionName=function_name, Payload=b'{"source": "faultinject"}')
    try:
        yield proxy
    finally:
        # Not when the function was deployed anew meanwhile (a LocalStack restart and `make apply`).
        now = lambda_client.get_function_configuration(FunctionName=function_name)
        if now.get("Environment", {}).get("Variables", {}).get("AWS_ENDPOINT_URL_SQS") == proxy.url:
            _set_environment(lambda_client, function_name, variables)


def _set_environment(lambda_client: Any, function_name: str, variables: dict[str, str]) -> None:
    lambda_client.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": variables}
    )
    lambda_client.get_waiter("function_updated_v2").wait(
        FunctionName=function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def environment_pids(function_name: str) -> list[int]:
    """The processes on this machine that run an environment of `function_name` (native mode)."""
    wanted = f"AWS_LAMBDA_FUNCTION_NAME={function_name}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                variables = (entry / "environ").read_bytes().split(b"\0")
            except OSError:  # gone, or not ours to read
                continue
            if wanted in variables:
                pids.append(int(entry.name))
    return pids


def kill_environments(function_name: str) -> list[int]:
    """SIGKILL every running environment of the function: what a crash or an OOM kill does."""
    killed = []
    for pid in environment_pids(function_name):
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            continue
    return killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("proxy", help="run a fault proxy in front of LocalStack until Ctrl-C")
    run.add_argument("--target", default=os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566"))
    run.add_argument("--port", type=int, default=0)
    run.add_argument("--mode", choices=MODES, default="pass")
    kill = commands.add_parser("kill", help="SIGKILL a function's running environments")
    kill.add_argument("function")
    args = parser.parse_args()
    if args.command == "kill":
        print(f"killed {kill_environments(args.function) or 'nothing'}")
        return
    proxy = FaultProxy(args.target, port=args.port).start()
    proxy.set_mode(args.mode)
    print(f"fault proxy on {proxy.url} -> {args.target}, mode {args.mode}; set AWS_ENDPOINT_URL_SQS to it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
