"""API Gateway adapter for /ping."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import db
from ping import service

logger = Logger(service="ping")
app = APIGatewayRestResolver()


@app.get("/ping")
def get_ping() -> dict[str, Any]:
    return service.ping(db.connection())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
