"""API Gateway adapter for /ping."""

from __future__ import annotations

from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import db
from ping import service

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
app = APIGatewayRestResolver()


@app.get("/ping")
def get_ping() -> dict[str, Any]:
    return db.run_in_transaction(service.ping)


@app.exception_handler(psycopg.OperationalError)
def _unavailable(exc: psycopg.OperationalError) -> Response[str]:
    logger.error("database unavailable", extra={"error": str(exc).strip()})
    return Response(
        status_code=503, content_type=content_types.APPLICATION_JSON, body='{"error": "unavailable"}'
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
