"""The fault proxy does to sends what its mode says, and lets every other call through untouched."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import faultinject


class Upstream:
    """A stand-in for SQS on an ephemeral port: records each request, answers 200 with a JSON body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.requests.append((self.headers.get("X-Amz-Target", ""), body))
                answer = json.dumps({"Successful": [], "n": len(upstream.requests)}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.server.shutdown()


@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[faultinject.FaultProxy]:
    proxy = faultinject.FaultProxy(upstream.url).start()
    yield proxy
    proxy.stop()


def call(proxy: faultinject.FaultProxy, action: str, ids: list[str]) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"QueueUrl": "q", "Entries": [{"Id": i} for i in ids]}).encode()
    request = urllib.request.Request(
        proxy.url, data=body, headers={"X-Amz-Target": f"AmazonSQS.{action}"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_pass_forwards_each_send_once(proxy: faultinject.FaultProxy, upstream: Upstream) -> None:
    assert call(proxy, "SendMessageBatch", ["1", "2"]) == (200, {"Successful": [], "n": 1})
    assert len(upstream.requests) == 1
    assert proxy.forwarded_ids() == {"1": 1, "2": 1}


def test_refuse_answers_503_and_forwards_no_send(proxy: faultinject.FaultProxy, upstream: Upstream) -> None:
    proxy.set_mode("refuse")
    status, body = call(proxy, "SendMessageBatch", ["7"])
    assert status == 503 and body["__type"].endswith("ServiceUnavailable")
    assert upstream.requests == []
    assert [s.outcome for s in proxy.sends] == ["refused"] and proxy.forwarded_ids() == {}
    assert call(proxy, "GetQueueUrl", [])[0] == 200, "only sends are refused"
    assert [target for target, _ in upstream.requests] == ["AmazonSQS.GetQueueUrl"]


def test_duplicate_forwards_each_send_twice(proxy: faultinject.FaultProxy, upstream: Upstream) -> None:
    proxy.set_mode("duplicate")
    assert call(proxy, "SendMessage", []) == (200, {"Successful": [], "n": 1}), "the first answer"
    call(proxy, "SendMessageBatch", ["3"])
    assert len(upstream.requests) == 4
    assert upstream.requests[2] == upstream.requests[3]
    assert proxy.forwarded_ids() == {"3": 2}


def test_hold_next_forwards_then_holds_the_answer_until_released(
    proxy: faultinject.FaultProxy, upstream: Upstream
) -> None:
    proxy.hold_next()
    answers: list[tuple[int, dict[str, Any]]] = []
    caller = threading.Thread(target=lambda: answers.append(call(proxy, "SendMessageBatch", ["9"])))
    caller.start()
    assert proxy.held.wait(timeout=10)
    assert len(upstream.requests) == 1, "forwarded before the hold"
    caller.join(timeout=0.3)
    assert caller.is_alive() and answers == [], "the answer is held"
    proxy.release()
    caller.join(timeout=10)
    assert answers == [(200, {"Successful": [], "n": 1})]
    assert call(proxy, "SendMessageBatch", ["10"])[0] == 200, "only the next send is held"
    assert [s.outcome for s in proxy.sends] == ["held", "forwarded"]


def test_an_unknown_mode_is_refused(proxy: faultinject.FaultProxy) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        proxy.set_mode("slow")


def test_the_query_protocol_names_its_action_and_entry_ids() -> None:
    body = b"Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=4&SendMessageBatchRequestEntry.2.Id=5"
    assert faultinject._action_and_ids({}, body) == ("SendMessageBatch", ("4", "5"))
