"""Adapter of the payments function: a direct invoke or an API Gateway REST request, one envelope.

A direct invoke (`{"partnerId", "action", "data"}`) returns the envelope as the function's result,
domain errors included; a REST proxy event (told apart by `httpMethod`/`requestContext`) is routed
by labcore.http and gets the same envelope as its body, with the status labcore.http maps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from labcore import http, openapi
from labcore.config import load
from labcore.errors import DomainError, InvalidInput
from payments import service
from payments.models import (
    ACTIONS,
    PAYMENT_ID_PATTERN,
    CreatePayment,
    GetPayment,
    Invocation,
    Payment,
    PaymentFailure,
    PaymentSuccess,
    UnknownAction,
)
from payments.partners import PartnerAccess, PaymentsSettings

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME, shared with the modules' child loggers
settings = load(PaymentsSettings)  # at import: a bad setting fails the cold start, never a request
access = PartnerAccess(
    settings.partners,
    margin_s=settings.payments_credentials_margin_s,
    duration_s=settings.payments_session_duration_s,
)
routes = Router()  # type: ignore[no-untyped-call]  # powertools leaves its __init__ unannotated


def _validated[M: BaseModel](model: type[M], data: object, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{what} is invalid", http.validation_problems(exc)) from exc


def create_payment(partner_id: str, data: object) -> service.Created:
    access.partner(partner_id)  # an unknown partner is told before its data, and without STS
    request = _validated(CreatePayment, data, "createPayment data")
    created = service.create_payment(access.table(partner_id), request, datetime.now(UTC))
    logger.info(
        "payment created",
        extra={"partner_id": partner_id, "payment_id": created.payment.id, "replayed": created.replayed},
    )
    return created


def get_payment(partner_id: str, data: object) -> Payment:
    access.partner(partner_id)
    request = _validated(GetPayment, data, "getPayment data")
    return service.get_payment(access.table(partner_id), request.payment_id)


def _success(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


def _failure(error_body: dict[str, Any]) -> dict[str, Any]:
    """labcore.http's error body (`error` code, `message`, `details`) moved under the envelope's `error`."""
    fields = {key: value for key, value in error_body.items() if key != "error"}
    return {"success": False, "error": {"code": error_body["error"], **fields}}


@routes.post(
    "/partners/<partner_id>/payments",
    **openapi.operation(
        summary="Create a pending payment for a partner (idempotent by idempotencyKey)",
        body=CreatePayment,
        ok={
            201: openapi.response("the new payment", PaymentSuccess),
            200: openapi.response(
                "the payment an earlier request with this idempotency key made", PaymentSuccess
            ),
        },
        errors=[404, 409, 503],
        error_model=PaymentFailure,
        tags=["payments"],
    ),
)
def post_payment(partner_id: str) -> Response[str]:
    created = create_payment(partner_id, http.json_body(routes))
    return http.json_response(200 if created.replayed else 201, _success(created.payment.to_json()))


@routes.get(
    "/partners/<partner_id>/payments/<payment_id>",
    **openapi.operation(
        summary="Read a partner's payment",
        ok={200: openapi.response("the payment", PaymentSuccess)},
        errors=[400, 404, 503],
        error_model=PaymentFailure,
        tags=["payments"],
    ),
)
def read_payment(
    partner_id: str,
    payment_id: Annotated[str, Path(description="the payment's id", pattern=PAYMENT_ID_PATTERN)],
) -> Response[str]:
    payment = get_payment(partner_id, {"paymentId": payment_id})
    return http.json_response(200, _success(payment.to_json()))


app = http.resolver()
app.include_router(routes)


def _rest(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = http.handle(app, event, context)
    if response["statusCode"] >= 400:  # every error body labcore.http writes: 4xx, 404/405 routing, 500
        body = json.loads(response["body"])
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            response["body"] = json.dumps(_failure(body))
    return response


def _invoke(event: object) -> dict[str, Any]:
    try:
        invocation = _validated(Invocation, event, 'the invocation {"partnerId", "action", "data"}')
        if invocation.action == "createPayment":
            return _success(create_payment(invocation.partner_id, invocation.data).payment.to_json())
        if invocation.action == "getPayment":
            return _success(get_payment(invocation.partner_id, invocation.data).to_json())
        raise UnknownAction(f"unknown action {invocation.action!r}; expected one of {', '.join(ACTIONS)}")
    except DomainError as exc:
        logger.warning("payment request refused", extra={"code": exc.code, "error": exc.message})
        # The same mapping as over HTTP (it also logs an unavailable dependency's cause).
        return _failure(json.loads(str(http.domain_error_response(exc).body)))


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and ("httpMethod" in event or "requestContext" in event):
        return _rest(event, context)
    logger.set_correlation_id(context.aws_request_id)
    return _invoke(event)
