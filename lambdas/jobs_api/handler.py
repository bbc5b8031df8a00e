"""API Gateway adapter for the jobs API: parse, call the service in a transaction, map the outcome."""

from __future__ import annotations

import functools
import json
import os
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from jobs_api import service
from jobs_api.models import CreateJobRequest
from labcore import db
from labcore.config import ConfigError
from labcore.errors import Conflict, FieldProblem, InvalidInput, NotFound

MAX_BODY_BYTES = 16 * 1024
CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Paths this API serves and their methods: what is not here is a 404, a wrong method a 405.
ROUTES = {
    re.compile(r"^/jobs/?$"): ("POST",),
    re.compile(r"^/jobs/[^/]+/?$"): ("GET",),
    re.compile(r"^/ping/?$"): ("GET",),  # served by the ping function; other methods fall through to here
}

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
app = APIGatewayRestResolver()


def _error(status: int, code: str, message: str | None = None, **extra: Any) -> Response[str]:
    body: dict[str, Any] = {"error": code}
    if message is not None:
        body["message"] = message
    body.update(extra)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def _request_body() -> dict[str, Any]:
    """The JSON object of the request, numbers as Decimal (an amount never passes through float)."""
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _UnsupportedMediaType(content_type or "none")
    raw = event.decoded_body or ""
    if len(raw.encode()) > MAX_BODY_BYTES:
        raise _PayloadTooLarge
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise InvalidInput("request body is not valid JSON", [FieldProblem("body", str(exc))]) from exc
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object", [FieldProblem("body", "expected an object")])
    return data


def _validation_problems(exc: ValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(FieldProblem(field, message))
    return problems


def _headers_for_outbox() -> dict[str, str]:
    headers = {"correlation_id": logger.get_correlation_id() or ""}
    if trace_id := os.environ.get("_X_AMZN_TRACE_ID"):
        headers["trace_id"] = trace_id
    return headers


@functools.cache
def _lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    # A nudge is an optimisation: fail fast rather than hold the response.
    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("lambda", config=config)


def _nudge_interval() -> float:
    raw = os.environ.get("DISPATCH_NUDGE_INTERVAL_S", "1")
    try:
        return float(raw)
    except ValueError as exc:  # at cold start, with the variable's name: never after a commit
        raise ConfigError(
            f"environment variable DISPATCH_NUDGE_INTERVAL_S must be a number, got {raw!r}"
        ) from exc


NUDGE_INTERVAL_S = _nudge_interval()
_last_nudge = -float("inf")


def _nudge_dispatcher() -> None:
    """Ask the dispatcher to run now (asynchronously); the schedule still catches what a nudge misses.

    At most one nudge per DISPATCH_NUDGE_INTERVAL_S from this environment: a nudged dispatcher
    listens for commits for longer than that (DISPATCH_LINGER_S), so the jobs in between reach it
    through Postgres NOTIFY without paying for another Invoke.
    """
    global _last_nudge
    name = os.environ.get("DISPATCHER_FUNCTION")
    now = time.monotonic()
    if not name or now - _last_nudge < NUDGE_INTERVAL_S:
        return
    _last_nudge = now
    try:
        _lambda_client().invoke(FunctionName=name, InvocationType="Event", Payload=b'{"source": "jobs-api"}')
    except Exception as exc:  # never fails the request: the job is committed and the schedule will publish it
        logger.warning("dispatcher nudge failed", extra={"error": f"{type(exc).__name__}: {exc}"})


@app.post("/jobs")
def create_job() -> Response[str]:
    try:
        request = CreateJobRequest.model_validate(_request_body())
    except ValidationError as exc:
        raise InvalidInput("request body is invalid", _validation_problems(exc)) from exc
    headers = _headers_for_outbox()
    result = db.run_in_transaction(lambda conn: service.create_job(conn, request, headers))
    logger.info(
        "job accepted",
        extra={"job_id": str(result.job.job_id), "new_job": result.created, "client_id": request.client_id},
    )
    if result.created:
        _nudge_dispatcher()
    # Relative to the request URL, so it resolves under every stage and URL form (RFC 9110 10.2.2).
    location = f"{result.job.job_id}" if app.current_event.path.endswith("/") else f"jobs/{result.job.job_id}"
    return _json_response(201 if result.created else 200, result.job.to_json(), {"Location": location})


@app.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response[str]:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError as exc:
        raise InvalidInput("job_id is not a UUID", [FieldProblem("job_id", "must be a UUID")]) from exc
    job = db.run_in_transaction(lambda conn: service.get_job(conn, parsed))
    return _json_response(200, job.to_json())


class _UnsupportedMediaType(Exception):
    pass


class _PayloadTooLarge(Exception):
    pass


@app.exception_handler(InvalidInput)
def _invalid(exc: InvalidInput) -> Response[str]:
    details = [{"field": problem.field, "message": problem.message} for problem in exc.details]
    return _error(400, exc.code, exc.message, details=details)


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response[str]:
    return _error(404, exc.code, exc.message)


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response[str]:
    return _error(409, exc.code, exc.message)


@app.exception_handler(_UnsupportedMediaType)
def _media_type(exc: _UnsupportedMediaType) -> Response[str]:
    return _error(415, "unsupported_media_type", f"Content-Type must be application/json, not {exc}")


@app.exception_handler(_PayloadTooLarge)
def _too_large(_: _PayloadTooLarge) -> Response[str]:
    return _error(413, "payload_too_large", f"request body must be at most {MAX_BODY_BYTES} bytes")


@app.exception_handler(psycopg.OperationalError)
def _unavailable(exc: psycopg.OperationalError) -> Response[str]:
    logger.error("database unavailable", extra={"error": str(exc).strip()})
    return _error(503, "unavailable")


@app.exception_handler(Exception)
def _internal(exc: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _error(500, "internal")


@app.not_found
def _no_route(_: NotFoundError) -> Response[str]:
    event = app.current_event
    for pattern, methods in ROUTES.items():
        if pattern.match(event.path):
            response = _error(
                405, "method_not_allowed", f"{event.http_method} is not allowed on {event.path}"
            )
            response.headers["Allow"] = ", ".join(methods)
            return response
    return _error(404, "not_found", f"no route for {event.http_method} {event.path}")


def _correlation_id(event: dict[str, Any]) -> str:
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    given = headers.get(CORRELATION_HEADER.lower(), "")
    if _CORRELATION_ID.match(given):
        return str(given)
    return str((event.get("requestContext") or {}).get("requestId") or uuid.uuid4())


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlation_id = _correlation_id(event)
    logger.set_correlation_id(correlation_id)
    response = app.resolve(event, context)
    headers = response.setdefault("multiValueHeaders", {})
    headers[CORRELATION_HEADER] = [correlation_id]
    return response
