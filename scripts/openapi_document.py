"""Write the OpenAPI document of the lab's REST API from the functions' routes (--check: fail if stale).

Each HTTP function's powertools resolver gives its part (`get_openapi_schema`), powertools'
OpenAPIMerge joins them, and labcore.openapi adds the request bodies. The result is committed as
lambdas/jobs_api/openapi.json, which the jobs API serves at GET /openapi.json: the catch-all
function of the REST API cannot import the other functions' packages at run time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "lambdas" / "jobs_api" / "openapi.json"
HANDLERS = ("jobs_api.handler", "events_api.handler", "payments.handler", "ping.handler")
# The handlers validate their settings at import, as on a cold start: placeholders for the import only
# (nothing is reached; the routes do not depend on them).
IMPORT_SETTINGS = {
    "DISPATCHER_FUNCTION": "outbox-lab-dispatcher",
    "DATABASE_URL": "postgresql://app:unused@db.invalid:5432/outbox",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PARTNERS": json.dumps(
        {
            "partner1": {
                "account_id": "111111111111",
                "region": "us-east-1",
                "role_arn": "arn:aws:iam::111111111111:role/unused",
                "external_id": "unused",
                "table_name": "unused",
            }
        }
    ),
}
POWERTOOLS_422 = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
DESCRIPTION = (
    "The lab's API Gateway REST API: the jobs API, the events API, the payments route and /ping."
    " Paths are relative to the deployed API's base URL (the `api_base_url` output), where this"
    " document is served as /openapi.json. Every response carries X-Correlation-Id; every error is"
    ' JSON: {"error": code, "message": text, "details": [...]} (the payments route wraps it as'
    ' {"success": false, "error": {"code": ..., "message": ..., "details": [...]}}). docs/api.md.'
)


def build() -> dict[str, Any]:
    """The merged document, as JSON-ready data."""
    sys.path.insert(0, str(ROOT / "lambdas"))
    for name, value in IMPORT_SETTINGS.items():
        os.environ.setdefault(name, value)
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    from labcore import openapi

    merge = OpenAPIMerge(title="outbox-lab", version="1.0.0", description=DESCRIPTION, on_conflict="error")
    for module in HANDLERS:
        app = importlib.import_module(module).app
        merge.add_schema(openapi.document(app.get_openapi_schema()))
    document = merge.get_openapi_schema()
    document["servers"] = [{"url": ".", "description": "the folder this document is served from"}]
    schemas = document["components"]["schemas"]
    for unused in POWERTOOLS_422:  # the 422 of powertools' own validation, which the lab does not use
        schemas.pop(unused, None)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(
                f"{TARGET.relative_to(ROOT)} is stale: run `python scripts/openapi_document.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
