"""Hostile input: every operation of the served OpenAPI document fuzzed by schemathesis against the lab.

The document is the committed one, which the deployed REST API serves at GET /openapi.json (the
last test checks that through the `_user_request_` URL); every operation in it gets generated
requests, sent to the deployed lab through that URL, valid and invalid by the schema, plus
schemathesis' coverage cases (boundaries, missing fields, other methods). Each response must be no
5xx, conform to the document (status, content type, headers, body schema), and, when an error, have
the lab's JSON error shape. Bounded and derandomized: the same requests on every run.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

DOCUMENT = Path(__file__).resolve().parents[2] / "lambdas" / "jobs_api" / "openapi.json"
MAX_EXAMPLES = 25  # generated requests per operation and mode; coverage cases come on top
PARTNER = "partner1"  # a deployed partner: the payments route checks the partner before the body
# A bulk request reports an invalid item as `invalid` with 200 by design: schema-invalid items are
# accepted there, so negative_data_rejection does not apply to that operation.
PARTIAL_SUCCESS = {"POST /api/v1/events/bulk"}

# The methods of API Gateway's ANY method, which reach the functions (schemathesis also tries TRACE
# and QUERY on every path, to see them refused).
GATEWAY_METHODS = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

CALLS: Counter[str] = Counter()


@schemathesis.check
def error_shape(ctx: CheckContext, response: schemathesis.Response, case: Case[Any]) -> bool | None:
    """Every 4xx and 5xx is JSON with a stable code and a message (the payments route in its envelope)."""
    if response.status_code < 400 or case.method == "HEAD":  # a HEAD response has no body
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} with a body that is not JSON: {response.content[:200]!r}"
        ) from None
    if case.path.startswith("/partners/"):
        assert body.get("success") is False, f"not the payments failure envelope: {body}"
        body = {"error": body["error"].get("code"), **body["error"]}
    assert isinstance(body.get("error"), str) and body["error"], f"no error code: {body}"
    assert isinstance(body.get("message"), str) and body["message"], f"no message: {body}"
    for problem in body.get("details") or []:
        assert set(problem) == {"field", "message"}, f"malformed detail: {problem}"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    error_shape,
]


@pytest.fixture(scope="module")
def base_url(outputs: dict[str, Any]) -> str:
    return str(outputs["api_base_url"])


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    started = time.monotonic()
    with requests.Session() as http:
        yield http
    elapsed = time.monotonic() - started
    print(  # noqa: T201  # the run's figures, shown with -s
        f"\nfuzzed {len(CALLS)} operations, {sum(CALLS.values())} requests in {elapsed:.0f} s: {dict(CALLS)}"
    )


# The committed document, which the next test proves is the one the deployed API serves: loaded at
# collection, so each operation is a test of its own.
document = schemathesis.openapi.from_path(DOCUMENT)
document.config.update(parameters={"partner_id": PARTNER}, request_timeout=30)
document.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


@document.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms(case: Case[Any], base_url: str, session: requests.Session) -> None:
    CALLS[case.operation.label] += 1
    if case.method not in GATEWAY_METHODS:
        # API Gateway answers these itself (403, "Missing Authentication Token") before any function.
        assert case.call(base_url=base_url, session=session).status_code == 403
        return
    sent_type = {k.lower(): v for k, v in (case.headers or {}).items()}.get("content-type", case.media_type)
    if case.method == "POST" and (sent_type or "").startswith("multipart/"):
        # LocalStack's API Gateway parses a multipart body itself and refuses one without a boundary
        # (an empty 400) before any function; a function would answer 415. (A GET has no body: it
        # reaches the function and is checked as any other.)
        assert case.call(base_url=base_url, session=session).status_code in (400, 415)
        return
    checks = [
        c for c in CHECKS if not (c is negative_data_rejection and case.operation.label in PARTIAL_SUCCESS)
    ]
    case.call_and_validate(base_url=base_url, session=session, checks=checks)


def test_the_served_document_is_the_committed_one(base_url: str) -> None:
    from pathlib import Path

    committed = json.loads(
        (Path(__file__).resolve().parents[2] / "lambdas/jobs_api/openapi.json").read_text()
    )
    served = requests.get(f"{base_url}/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/json")
    assert served.json() == committed
