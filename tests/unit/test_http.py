"""labcore.http: request bodies, the one error shape, 404/405 from the resolver's own routes."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import BaseModel

from labcore import http
from labcore.errors import Conflict, DomainError, NotFound, Unavailable
from tests_support import api_event, lambda_context

logger = Logger()  # the function's logger: labcore.http logs through its child


class Thing(BaseModel):
    name: str


def make_app() -> ApiGatewayResolver:
    app = http.resolver()

    @app.post("/things")
    def create() -> Response[str]:
        return http.json_response(201, http.parse_body(app, Thing).model_dump())

    @app.get("/things/<thing_id>")
    def read(thing_id: str) -> dict[str, Any]:
        errors = {
            "gone": NotFound("no such thing"),
            "taken": Conflict("taken"),
            "db": Unavailable("down"),
            "odd": DomainError("a rule with no status of its own"),
        }
        if thing_id in errors:
            raise errors[thing_id]
        if thing_id == "bug":
            raise ZeroDivisionError("secret internals")
        return {"id": thing_id}

    @app.delete("/things/<thing_id>")
    def delete(thing_id: str) -> dict[str, Any]:
        return {}

    return app


@functools.cache
def app() -> ApiGatewayResolver:
    """Built on first use, not at import (under `make mutate` the mutants activate per test)."""
    return make_app()


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = http.handle(app(), event, lambda_context("http-test"))
    headers = {key.lower(): value for key, value in (response.get("headers") or {}).items()}
    headers |= {key.lower(): values[0] for key, values in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], json.loads(response["body"]), headers


def post(
    text: str | None, content_type: str = "application/json", **extra: Any
) -> tuple[int, dict[str, Any]]:
    status, payload, _ = call({**api_event("POST", "/things", text, {"Content-Type": content_type}), **extra})
    return status, payload


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_with_or_without_parameters_is_accepted(content_type: str) -> None:
    assert post('{"name": "a"}', content_type) == (201, {"name": "a"})


def test_other_media_types_are_415() -> None:
    status, body = post("name=a", "application/x-www-form-urlencoded")
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert "application/x-www-form-urlencoded" in body["message"]


def test_size_limit_is_on_bytes_413() -> None:
    fits = json.dumps({"name": "é" * ((http.MAX_BODY_BYTES - 20) // 2)}, ensure_ascii=False)
    assert post(fits)[0] == 201
    too_big = json.dumps({"name": "é" * (http.MAX_BODY_BYTES // 2)}, ensure_ascii=False)
    assert len(too_big) <= http.MAX_BODY_BYTES < len(too_big.encode())
    status, body = post(too_big)
    assert (status, body) == (
        413,
        {
            "error": "payload_too_large",
            "message": f"request body must be at most {http.MAX_BODY_BYTES} bytes",
        },
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "request body is not valid JSON"),
        ("[1, 2]", "request body must be a JSON object"),
        ("", "request body is not valid JSON"),
        ('{"name": 5}', "request body is invalid"),
    ],
)
def test_bad_bodies_are_400_with_details(raw: str, message: str) -> None:
    status, body = post(raw)
    assert (status, body["error"], body["message"]) == (400, "validation_error", message)
    assert body["details"], "each problem names its field"
    for detail in body["details"]:
        assert detail["field"] in ("body", "name")
        assert detail["message"] and detail["message"] != "None"


def test_bytes_that_are_not_utf8_are_400_not_500() -> None:
    raw = b'\xff\xfe{"name": "a"}'
    # API Gateway hands a body it cannot pass as text over base64-encoded...
    encoded: dict[str, Any] = {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    status, body = post(None, **encoded)
    assert (status, body["error"], body["message"]) == (
        400,
        "validation_error",
        "request body is not valid UTF-8",
    )
    # ...and a proxy that decoded it leniently leaves lone surrogates in the text.
    status, body = post(raw.decode("utf-8", "surrogateescape"))
    assert (status, body["error"], body["message"]) == (
        400,
        "validation_error",
        "request body is not valid UTF-8",
    )
    ((detail),) = body["details"]
    assert detail["field"] == "body"
    assert "surrogate" in detail["message"]


def test_a_body_that_is_not_valid_base64_is_400() -> None:
    status, body = post(None, body="{!!not base64!!}", isBase64Encoded=True)
    assert (status, body["message"]) == (400, "request body is not valid UTF-8")
    assert [d["field"] for d in body["details"]] == ["body"]


def test_a_base64_body_that_is_utf8_json_is_read() -> None:
    encoded: dict[str, Any] = {"body": base64.b64encode(b'{"name": "b"}').decode(), "isBase64Encoded": True}
    assert post(None, **encoded) == (201, {"name": "b"})


@pytest.mark.parametrize(
    ("thing_id", "status", "error"),
    [
        ("gone", 404, "not_found"),
        ("taken", 409, "conflict"),
        ("db", 503, "unavailable"),
        ("odd", 400, "domain_error"),
        ("bug", 500, "internal"),
    ],
)
def test_errors_have_one_shape(thing_id: str, status: int, error: str) -> None:
    got_status, body, headers = call(api_event("GET", f"/things/{thing_id}"))
    assert (got_status, body["error"]) == (status, error)
    assert set(body) == {"error", "message"}
    assert headers["content-type"] == "application/json"
    assert "secret internals" not in json.dumps(body)


def test_405_lists_the_methods_of_the_resolvers_own_routes() -> None:
    status, body, headers = call(api_event("PUT", "/things/7"))
    assert (status, body["error"]) == (405, "method_not_allowed")
    assert headers["allow"] == "DELETE, GET"
    status, _, headers = call(api_event("GET", "/things/"))
    assert (status, headers["allow"]) == (405, "POST")


def test_a_path_with_a_trailing_newline_is_no_route_404_not_405() -> None:
    # Found by the OpenAPI fuzz (GET /jobs/%0A): a route's pattern ends in `$`, which also matches
    # before a final newline, so "/things/\n" passed for "/things/" and got a 405 (Allow: POST).
    status, body, headers = call(api_event("GET", "/things/\n"))
    assert (status, body["error"]) == (404, "not_found")
    assert "allow" not in headers


def test_a_path_no_route_matches_is_404() -> None:
    status, body, headers = call(api_event("GET", "/ping"))
    assert (status, body["error"]) == (404, "not_found")
    assert "allow" not in headers


def test_correlation_id_is_echoed_or_made() -> None:
    event = api_event("GET", "/things/1", headers={"X-Correlation-Id": "corr-7"})
    assert call(event)[2]["x-correlation-id"] == "corr-7"
    event = api_event("GET", "/things/1", headers={"X-Correlation-Id": "bad id with spaces"})
    assert call(event)[2]["x-correlation-id"] == event["requestContext"]["requestId"]


def test_an_unavailable_dependency_is_logged_with_its_cause(caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        try:
            raise ConnectionRefusedError("connection to server at 127.0.0.1 refused ")
        except ConnectionRefusedError as exc:
            raise Unavailable("the database is unavailable") from exc

    with pytest.raises(Unavailable) as raised:
        fail()
    response = http.domain_error_response(raised.value)
    assert response.status_code == 503
    logged = [(r.getMessage(), getattr(r, "error", None)) for r in caplog.records if r.levelname == "ERROR"]
    assert logged == [("dependency unavailable", "connection to server at 127.0.0.1 refused")]
