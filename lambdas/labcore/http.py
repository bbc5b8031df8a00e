"""The HTTP adapter every API Gateway function shares: JSON bodies in, domain errors out as JSON.

`resolver()` gives an API Gateway resolver (REST by default; `APIGatewayHttpResolver` for an HTTP
API's payload 2.0) whose errors all have one shape,
`{"error": <stable code>, "message": <for humans>}` (plus `details` for invalid input), whose 404
and 405 (with Allow) come from its own routes, and `handle()` runs it with the correlation id.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, BaseRouter
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from labcore.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound, Unavailable

MAX_BODY_BYTES = 16 * 1024
CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

logger = Logger(child=True)


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


# The one mapping of domain errors to HTTP statuses; the most specific class wins (MRO order).
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Unavailable: 503,
}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def text_response(status: int, body: str) -> Response[str]:
    """A JSON body already serialised (a document served as it is stored)."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[str]:
    return json_response(status, {"error": code, "message": message, **extra})


def domain_error_response(exc: DomainError) -> Response[str]:
    status = next((STATUS_BY_ERROR[cls] for cls in type(exc).__mro__ if cls in STATUS_BY_ERROR), 400)
    if isinstance(exc, Unavailable):
        logger.error("dependency unavailable", extra={"error": str(exc.__cause__ or exc).strip()})
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        extra["details"] = [{"field": problem.field, "message": problem.message} for problem in exc.details]
    return error_response(status, exc.code, exc.message, **extra)


def json_body(app: BaseRouter, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request's JSON object, numbers as Decimal (an amount never passes through float)."""
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {content_type or 'none'}")
    raw = _raw_body(event.body or "", bool(event.is_base64_encoded))
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body must be at most {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("request body is not valid UTF-8", [FieldProblem("body", str(exc))]) from exc
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise InvalidInput("request body is not valid JSON", [FieldProblem("body", str(exc))]) from exc
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object", [FieldProblem("body", "expected an object")])
    return data


def _raw_body(body: str, base64_encoded: bool) -> bytes:
    """The body's bytes: API Gateway base64-encodes a body it cannot pass as text."""
    try:
        return base64.b64decode(body, validate=True) if base64_encoded else body.encode()
    except (binascii.Error, UnicodeEncodeError) as exc:  # lone surrogates stand for undecodable bytes
        raise InvalidInput("request body is not valid UTF-8", [FieldProblem("body", str(exc))]) from exc


def parse_body[M: BaseModel](app: BaseRouter, model: type[M], max_bytes: int = MAX_BODY_BYTES) -> M:
    """The request body validated into `model`; each problem names its field."""
    try:
        return model.model_validate(json_body(app, max_bytes))
    except ValidationError as exc:
        raise InvalidInput("request body is invalid", validation_problems(exc)) from exc


def validation_problems(exc: ValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(FieldProblem(field, error["msg"].removeprefix("Value error, ")))
    return problems


def resolver(kind: type[ApiGatewayResolver] = APIGatewayRestResolver) -> ApiGatewayResolver:
    """A resolver of `kind` with the shared error mapping; the function adds its own routes."""
    app = kind()

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response[str]:
        return domain_error_response(exc)

    @app.exception_handler(Exception)
    def _internal(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, "internal", "internal error")

    @app.not_found
    def _no_route(_: NotFoundError) -> Response[str]:
        event = app.current_event
        allowed = allowed_methods(app, event.path)
        if allowed:
            response = error_response(
                405, "method_not_allowed", f"{event.http_method} is not allowed on {event.path}"
            )
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(404, "not_found", f"no route for {event.http_method} {event.path}")

    return app


def allowed_methods(app: ApiGatewayResolver, path: str) -> list[str]:
    """Methods of the resolver's own routes matching `path` (powertools keeps its routes in two lists)."""
    routes = app._static_routes + app._dynamic_routes
    # fullmatch: the patterns end in `$`, which also matches before a final newline ("/jobs/\n").
    return sorted({route.method for route in routes if route.rule.fullmatch(path)})


def correlation_id(event: dict[str, Any]) -> str:
    """The caller's X-Correlation-Id when well formed, else API Gateway's request id."""
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    given = headers.get(CORRELATION_HEADER.lower(), "")
    if isinstance(given, str) and _CORRELATION_ID.match(given):
        return given
    return str((event.get("requestContext") or {}).get("requestId") or uuid.uuid4())


def handle(app: ApiGatewayResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Resolve the event with its correlation id set for the logs and echoed in the response."""
    cid = correlation_id(event)
    logger.set_correlation_id(cid)
    response = app.resolve(event, context)
    if "multiValueHeaders" in response:  # a REST API's response (payload 2.0 has only `headers`)
        response["multiValueHeaders"][CORRELATION_HEADER] = [cid]
    else:
        response.setdefault("headers", {})[CORRELATION_HEADER] = cid
    return response
