"""API Gateway adapter for the jobs API: parse, call the service in a transaction, map the outcome."""

from __future__ import annotations

import functools
import pathlib
import uuid
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobs_api import service
from jobs_api.models import CreateJobRequest, Job
from labcore import db, http, openapi, outbox
from labcore.config import load
from labcore.errors import FieldProblem, InvalidInput
from labcore.nudge import DispatcherNudge, NudgeSettings

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers


settings = load(NudgeSettings)  # at import: a bad setting fails the cold start, never a request
nudge = DispatcherNudge(settings.dispatcher_function, settings.dispatch_nudge_interval_s, "jobs-api")
app = http.resolver()
DOCUMENT = pathlib.Path(__file__).with_name("openapi.json")
LOCATION: dict[str, Any] = {
    "description": "the job's URL, relative to the request URL",
    "schema": {"type": "string"},
    "required": True,
}


@app.post(
    "/jobs",
    **openapi.operation(
        summary="Create a conversion job (idempotent by client_id + idempotency_key)",
        body=CreateJobRequest,
        ok={
            201: openapi.response("the new job", Job, {"Location": LOCATION}),
            200: openapi.response(
                "the job an earlier request with this idempotency key made", Job, {"Location": LOCATION}
            ),
        },
        errors=[409, 503],
        tags=["jobs"],
    ),
)
def create_job() -> Response[str]:
    request = http.parse_body(app, CreateJobRequest)
    headers = outbox.request_headers(logger.get_correlation_id())
    result = db.run_in_transaction(lambda conn: service.create_job(conn, request, headers))
    logger.info(
        "job accepted",
        extra={"job_id": str(result.job.job_id), "new_job": result.created, "client_id": request.client_id},
    )
    if result.created:
        nudge()
    # Relative to the request URL, so it resolves under every stage and URL form (RFC 9110 10.2.2).
    location = f"{result.job.job_id}" if app.current_event.path.endswith("/") else f"jobs/{result.job.job_id}"
    return http.json_response(201 if result.created else 200, result.job.to_json(), {"Location": location})


@app.get(
    "/jobs/<job_id>",
    **openapi.operation(
        summary="Read a job",
        ok={200: openapi.response("the job as it is now", Job)},
        errors=[400, 404, 503],
        tags=["jobs"],
    ),
)
def get_job(
    job_id: Annotated[str, Path(description="the job's id", json_schema_extra={"format": "uuid"})],
) -> Response[str]:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError as exc:
        raise InvalidInput("job_id is not a UUID", [FieldProblem("job_id", "must be a UUID")]) from exc
    job = db.run_in_transaction(lambda conn: service.get_job(conn, parsed))
    return http.json_response(200, job.to_json())


@app.get(
    "/openapi.json",
    **openapi.operation(
        summary="The OpenAPI document of the lab's REST API (every function's routes)",
        ok={200: openapi.response("this document", openapi.Document)},
        tags=["meta"],
    ),
)
def get_openapi() -> Response[str]:
    return http.text_response(200, document())


@functools.cache
def document() -> str:
    """The committed document (scripts/openapi_document.py writes it; `make lint` checks it is current)."""
    return DOCUMENT.read_text()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)
