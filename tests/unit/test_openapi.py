"""The OpenAPI document: generated from every HTTP function's routes, current, and true to the error shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

import openapi_document as generator  # scripts/openapi_document.py
from labcore import http, openapi
from labcore.errors import Conflict, FieldProblem, InvalidInput, Unavailable
from tests_support import api_event, lambda_context

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The generated document; the handlers' placeholder settings are set for their import only."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in generator.IMPORT_SETTINGS.items():
            env.setenv(name, value)
        return generator.build()


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The component with its references resolvable (a schema jsonschema can check bodies against)."""
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_the_committed_document_is_the_generated_one(document: dict[str, Any]) -> None:
    assert json.loads(generator.TARGET.read_text()) == document


def test_every_route_of_every_function_is_documented(document: dict[str, Any]) -> None:
    import importlib

    routes = set()
    for module in generator.HANDLERS:
        app = importlib.import_module(module).app
        for route in app._static_routes + app._dynamic_routes:
            routes.add((route.openapi_path, route.method.lower()))
    documented = {(path, method) for path, method, _ in operations(document)}
    assert documented == routes
    assert ("/jobs", "post") in documented and ("/ping", "get") in documented


def test_every_operation_documents_its_errors_and_the_correlation_id(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        responses = op["responses"]
        assert "500" in responses, (path, method)
        for status, described in responses.items():
            assert "X-Correlation-Id" in described["headers"], (path, method, status)
            schema = described["content"]["application/json"]["schema"]
            if int(status) >= 400 and path != "/api/v1/events/health":
                error = "PaymentFailure" if path.startswith("/partners/") else "ErrorBody"
                assert schema == {"$ref": f"#/components/schemas/{error}"}, (path, method, status)


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/jobs", "CreateJobRequest"),
        ("/api/v1/events", "CarEvent"),
        ("/api/v1/events/bulk", "BulkRequest"),
        ("/partners/{partner_id}/payments", "CreatePayment"),
    ],
)
def test_a_body_route_documents_its_model_and_the_body_errors(
    document: dict[str, Any], path: str, model: str
) -> None:
    op = document["paths"][path]["post"]
    body = op["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    assert {"400", "413", "415"} <= set(op["responses"])
    assert "additionalProperties" in document["components"]["schemas"][model]  # extra fields refused


def test_powertools_own_422_schemas_are_left_out(document: dict[str, Any]) -> None:
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])


def error_bodies() -> list[dict[str, Any]]:
    """What labcore.http writes for each kind of error."""
    invalid = InvalidInput("request body is invalid", [FieldProblem("source_amount", "must be > 0")])
    responses: list[Response[str]] = [
        http.domain_error_response(invalid),
        http.domain_error_response(Conflict("taken")),
        http.domain_error_response(Unavailable("down")),
        http.error_response(500, "internal", "internal error"),
    ]
    return [json.loads(str(response.body)) for response in responses]


def test_the_error_schema_accepts_what_labcore_http_writes(document: dict[str, Any]) -> None:
    for body in error_bodies():
        jsonschema.validate(body, component(document, "ErrorBody"))


@pytest.mark.parametrize(
    "body",
    [
        {"error": "conflict"},  # no message
        {"message": "no code"},
        {"error": "Bad Code", "message": "m"},
        {"error": "conflict", "message": "m", "details": [{"field": "x"}]},
        {"error": "conflict", "message": "m", "stack": "Traceback ..."},  # internals never leak
    ],
)
def test_the_error_schema_refuses_other_shapes(document: dict[str, Any], body: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, component(document, "ErrorBody"))


def test_operation_adds_the_shared_errors_and_names_the_body_model() -> None:
    documented = openapi.operation(
        summary="s", body=openapi.Problem, ok={201: openapi.response("made", openapi.Problem)}, errors=[409]
    )
    assert sorted(documented["responses"]) == [201, 400, 409, 413, 415, 500]
    assert documented["openapi_extensions"] == {openapi.REQUEST_MODEL: openapi.Problem}
    assert "openapi_extensions" not in openapi.operation(summary="s", ok={})


def test_document_writes_the_request_body_and_its_nested_models() -> None:
    app = APIGatewayRestResolver()

    @app.post("/things", **openapi.operation(summary="s", body=openapi.ErrorBody, ok={}))
    def create() -> None: ...

    data = openapi.document(app.get_openapi_schema())
    body = data["paths"]["/things"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ErrorBody"}
    assert {"ErrorBody", "Problem"} <= set(data["components"]["schemas"])  # Problem: nested in details
    assert openapi.REQUEST_MODEL not in data["paths"]["/things"]["post"]


def test_the_jobs_api_serves_the_committed_document(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in generator.IMPORT_SETTINGS.items():
        monkeypatch.setenv(name, value)
    from jobs_api import handler

    response = handler.handler(api_event("GET", "/openapi.json"), lambda_context("jobs-api"))
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(response["body"]) == json.loads((ROOT / "lambdas/jobs_api/openapi.json").read_text())
