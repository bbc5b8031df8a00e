"""OpenAPI metadata of the HTTP routes: the JSON request body, the responses and the one error shape.

A route passes `**operation(...)` to its powertools decorator; powertools generates the document from
the routes (`get_openapi_schema`), and `document` writes each route's request body from its
model (powertools builds one only from a validated parameter, and the lab parses bodies itself:
numbers as Decimal, 415 before 413 before 400, its own error shape). The model is named, not turned
into a schema, at import: a cold start never pays for the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.openapi.types import COMPONENT_REF_TEMPLATE, OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from labcore.http import CORRELATION_HEADER

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

JSON = "application/json"
REQUEST_MODEL = "x-request-model"  # the route's body model until document() writes its schema
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Problem(BaseModel):
    """One problem of a rejected request: `field` is a body field (dotted), `body` or a path parameter."""

    model_config = ConfigDict(extra="forbid")

    field: str
    message: str


class Document(BaseModel):
    """An OpenAPI 3.1 document (GET /openapi.json)."""

    model_config = ConfigDict(extra="allow", title="OpenAPIDocument")

    openapi: str = Field(pattern=r"^3\.1\.")
    info: dict[str, Any]
    paths: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error response of the lab's APIs (labcore.http): a stable code and a message for humans."""

    model_config = ConfigDict(extra="forbid", title="Error")

    error: str = Field(pattern=r"^[a-z_]+$", description="the stable machine-readable code")
    message: str
    details: list[Problem] = Field(default_factory=list, description="only on validation_error")


# What each error status means, for every route (the codes are labcore.errors' and the APIs' own).
ERROR_STATUSES: dict[int, str] = {
    400: "validation_error (with details), or another invalid-input code",
    404: "not_found (no such resource, or no route), or a more specific not-found code",
    405: "method_not_allowed: the path exists with the methods of the Allow header",
    409: "conflict: the idempotency key or id was used with a different request",
    413: "payload_too_large: the body is above the route's limit",
    415: "unsupported_media_type: Content-Type is not application/json",
    500: "internal: anything unexpected (details go to the log)",
    503: "unavailable: a dependency (the database) cannot be reached; retry later",
}
# Every route may answer an unexpected error.
ALWAYS = (500,)
# A route that reads a JSON body may also answer these.
BODY_ERRORS = (400, 413, 415)

# A header object as a plain dict: powertools' OpenAPIResponseHeader type lacks `required`.
_CORRELATION: dict[str, Any] = {
    CORRELATION_HEADER: {
        "description": "the request's X-Correlation-Id when well formed, else API Gateway's request id",
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
        "required": True,
    }
}


def response(
    description: str, model: type[BaseModel], headers: dict[str, Any] | None = None
) -> OpenAPIResponse:
    """A JSON response of `model`, with the correlation id header every response carries."""
    return {
        "description": description,
        "headers": {**_CORRELATION, **(headers or {})},
        "content": {JSON: {"model": model}},
    }


def operation(
    *,
    summary: str,
    ok: dict[int, OpenAPIResponse],
    errors: Iterable[int] = (),
    body: type[BaseModel] | None = None,
    error_model: type[BaseModel] = ErrorBody,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of a route decorator that document it: body, successes and errors."""
    responses = dict(ok)
    for status in sorted({*errors, *ALWAYS, *(BODY_ERRORS if body else ())}):
        responses[status] = response(ERROR_STATUSES[status], error_model)
    documented: dict[str, Any] = {"summary": summary, "responses": responses, "tags": tags}
    if body is not None:
        documented["openapi_extensions"] = {REQUEST_MODEL: body}
    return documented


def document(schema: OpenAPI) -> dict[str, Any]:
    """Powertools' document of a resolver as JSON data, with each route's request model as its body."""
    models: dict[tuple[str, str], type[BaseModel]] = {}
    for path, item in (schema.paths or {}).items():
        for method in METHODS:
            op = getattr(item, method, None)
            model = (op.__pydantic_extra__ or {}).pop(REQUEST_MODEL, None) if op is not None else None
            if model is not None:
                models[path, method] = model
    data: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    schemas: dict[str, Any] = data.setdefault("components", {}).setdefault("schemas", {})
    for (path, method), model in models.items():
        body = model.model_json_schema(ref_template=COMPONENT_REF_TEMPLATE, mode="validation")
        schemas.update(body.pop("$defs", {}))
        schemas[model.__name__] = body
        ref = {"$ref": COMPONENT_REF_TEMPLATE.format(model=model.__name__)}
        data["paths"][path][method]["requestBody"] = {"required": True, "content": {JSON: {"schema": ref}}}
    data["components"]["schemas"] = dict(sorted(schemas.items()))
    return data
