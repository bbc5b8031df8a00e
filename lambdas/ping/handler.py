"""API Gateway adapter for /ping."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from labcore import db, http, openapi
from labcore.config import LabSettings, load
from ping import service
from ping.models import PingReport

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with labcore's child loggers
settings = load(LabSettings)  # at import: a bad setting fails the cold start
app = http.resolver()


@app.get(
    "/ping",
    **openapi.operation(
        summary="The database answers; which psycopg the layer loaded",
        ok={200: openapi.response("the report", PingReport)},
        errors=[503],
        tags=["ping"],
    ),
)
def get_ping() -> dict[str, Any]:
    return db.run_in_transaction(service.ping)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)
