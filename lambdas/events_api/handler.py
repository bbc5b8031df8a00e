"""API Gateway adapter for the events API: parse, call the service in a transaction, map the outcome.

The routes live on a Router, independent of the API type: `app` serves them behind the lab's REST
API; behind an HTTP API (payload 2.0) on AWS, `http.resolver(APIGatewayHttpResolver)` includes the
same router (docs/events.md), and nothing else changes.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from events_api import service
from events_api.models import (
    ENTITY_ID_PATTERN,
    MAX_BULK_EVENTS,
    BulkReceipt,
    BulkRequest,
    CarEvent,
    EntityView,
    EventReceipt,
    Health,
)
from labcore import db, http, openapi, outbox
from labcore.config import load
from labcore.errors import Conflict, FieldProblem, InvalidInput, Unavailable
from labcore.nudge import DispatcherNudge, NudgeSettings

# An event of MAX_ENTITIES cars is about 20 KB, one car under 1 KB: room for both, and for a bulk of
# MAX_BULK_EVENTS such events well inside a synchronous Lambda invocation's 6 MB.
MAX_EVENT_BYTES = 64 * 1024
MAX_BULK_BYTES = 4 * 1024 * 1024
BULK_STATUSES = ("created", "duplicate", "conflict", "invalid")

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
settings = load(NudgeSettings)  # at import: a bad setting fails the cold start, never a request
nudge = DispatcherNudge(settings.dispatcher_function, settings.dispatch_nudge_interval_s, "events-api")
routes = Router()  # type: ignore[no-untyped-call]  # powertools leaves its __init__ unannotated


def _ingest(events: list[CarEvent]) -> list[service.Outcome]:
    headers = outbox.request_headers(logger.get_correlation_id())
    outcomes = db.run_in_transaction(lambda conn: service.ingest(conn, events, headers))
    if "created" in outcomes:
        nudge()
    return outcomes


@routes.post(
    "/api/v1/events",
    **openapi.operation(
        summary="Ingest one car event (idempotent by eventHeader.uuid)",
        body=CarEvent,
        ok={
            201: openapi.response("the event is stored", EventReceipt),
            200: openapi.response("the same event was stored before: nothing written", EventReceipt),
        },
        errors=[409, 503],
        tags=["events"],
    ),
)
def create_event() -> Response[str]:
    event = http.parse_body(routes, CarEvent, MAX_EVENT_BYTES)
    [outcome] = _ingest([event])
    logger.info("event received", extra={"event_id": str(event.event_id), "outcome": outcome})
    if outcome == "conflict":
        raise Conflict(f"event {event.event_id} was already received with a different body")
    body = {
        "eventId": str(event.event_id),
        "duplicate": outcome == "duplicate",
        "entities": len(event.entities),
    }
    return http.json_response(201 if outcome == "created" else 200, body)


@routes.post(
    "/api/v1/events/bulk",
    **openapi.operation(
        summary="Ingest up to 100 car events, each on its own (an invalid item is reported, not fatal)",
        body=BulkRequest,
        ok={200: openapi.response("one result per item, in order", BulkReceipt)},
        errors=[503],
        tags=["events"],
    ),
)
def create_events() -> Response[str]:
    body = http.json_body(routes, max_bytes=MAX_BULK_BYTES)
    items = body.get("events")
    if set(body) != {"events"} or not isinstance(items, list):
        raise InvalidInput(
            'request body must be {"events": [...]}', [FieldProblem("events", "expected a list of events")]
        )
    if len(items) > MAX_BULK_EVENTS:
        raise http.PayloadTooLarge(f"a bulk request holds at most {MAX_BULK_EVENTS} events, not {len(items)}")
    if not items:
        raise InvalidInput("events must not be empty", [FieldProblem("events", "expected 1 or more events")])

    results: list[dict[str, Any]] = [{"index": index} for index in range(len(items))]
    valid: list[tuple[int, CarEvent]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, CarEvent.model_validate(item)))
        except ValidationError as exc:
            problems = http.validation_problems(exc)
            results[index].update(
                status="invalid", errors=[{"field": p.field, "message": p.message} for p in problems]
            )
    outcomes = _ingest([event for _, event in valid]) if valid else []
    for (index, event), outcome in zip(valid, outcomes, strict=True):
        results[index].update(eventId=str(event.event_id), status=outcome)
    counts = Counter(result["status"] for result in results)
    summary = {status: counts[status] for status in BULK_STATUSES}
    logger.info("bulk received", extra={"events": len(items), "summary": summary})
    return http.json_response(200, {"results": results, "summary": summary})


@routes.get(
    "/api/v1/events/health",
    **openapi.operation(
        summary="Whether the events API reaches its database",
        ok={
            200: openapi.response("the database answers", Health),
            503: openapi.response("the database does not answer", Health),
        },
        tags=["events"],
    ),
)
def health() -> Response[str]:
    try:
        db.run_in_transaction(service.check_database)
    except Unavailable as exc:
        logger.warning("health: database unavailable", extra={"error": str(exc.__cause__ or exc).strip()})
        return http.json_response(503, {"status": "unavailable", "database": "unavailable"})
    return http.json_response(200, {"status": "ok", "database": "ok"})


@routes.get(
    "/api/v1/entities/<entity_id>",
    **openapi.operation(
        summary="Read a car as projected from its events",
        ok={200: openapi.response("the car", EntityView)},
        errors=[404, 503],
        tags=["events"],
    ),
)
def get_entity(
    entity_id: Annotated[str, Path(description="the car's entityId", pattern=ENTITY_ID_PATTERN)],
) -> Response[str]:
    entity = db.run_in_transaction(lambda conn: service.get_entity(conn, entity_id))
    return http.json_response(200, entity)


app = http.resolver()
app.include_router(routes)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)
