"""On LocalStack's Python: build each provider from its entry point as LocalStack does, print its wiring.

Usage: python dynamodb_probe.py <entry point value>... (e.g. localstack_native.dynamodb:dynamodb_moto);
prints one JSON object per entry point. The package is imported from this checkout, not the venv's copy.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

# This checkout's package, ahead of the copy installed in the venv.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localstack.aws.api import RequestContext
from localstack.aws.forwarder import create_aws_request_context
from localstack.aws.spec import load_service

from localstack_native import dynamodb

TABLE = "probe-table"
OWNER, OTHER = "123456789012", "210987654321"


def required_members(service: str, operation: str) -> dict[str, None]:
    """Placeholders for an operation's required parameters: the provider's methods take them as arguments."""
    shape = load_service(service).operation_model(operation).input_shape
    return dict.fromkeys(shape.required_members if shape is not None else [])


def wiring(spec: Any) -> dict[str, Any]:
    """Call every operation of the service with moto replaced by a recorder: what reached it, and how."""
    service = spec.factory().create_service()
    table = service.skeleton.dispatch_table
    model = load_service(service.name())
    seen: list[dict[str, Any]] = []
    contexts: list[RequestContext] = []

    def recorder(context: RequestContext, include_response_metadata: bool = False) -> dict[str, str]:
        seen.append({"operation": context.operation.name, "locked": dynamodb.MOTO_LOCK.locked()})
        contexts.append(context)
        return {"from": "moto"}

    real = dynamodb.call_moto
    dynamodb.call_moto = recorder
    try:
        results = []
        for operation, handler in sorted(table.items()):
            context = RequestContext(request=None)
            context.operation = model.operation_model(operation)
            results.append(handler(context, required_members(service.name(), operation)))
    finally:
        dynamodb.call_moto = real
    return {
        "namespace": spec.namespace,
        "name": spec.name,
        "service": service.name(),
        "operations": len(table),
        "reached_moto": [entry["operation"] for entry in seen],
        "under_lock": all(entry["locked"] for entry in seen),
        "lock_free_after": not dynamodb.MOTO_LOCK.locked(),
        "answers_are_moto's": all(result == {"from": "moto"} for result in results),
        "contexts_passed": [context.operation.name for context in contexts] == sorted(table),
    }


def moto_round_trip(spec: Any) -> dict[str, list[str]]:
    """A real CreateTable in one account through the skeleton into moto, then ListTables per account.

    The account is the header LocalStack's AccountIdEnricher sets from the access key id.
    """
    service = spec.factory().create_service()

    def call(account: str, action: str, parameters: dict[str, Any]) -> dict[str, Any]:
        context = create_aws_request_context("dynamodb", action, parameters=parameters, region="us-east-1")
        context.request.headers["x-moto-account-id"] = account
        answer: dict[str, Any] = json.loads(service.skeleton.invoke(context).data)
        return answer

    call(
        OWNER,
        "CreateTable",
        {
            "TableName": TABLE,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    return {account: call(account, "ListTables", {})["TableNames"] for account in (OWNER, OTHER)}


def main() -> None:
    for value in sys.argv[1:]:
        module, _, attribute = value.partition(":")
        spec = getattr(importlib.import_module(module), attribute)
        report = wiring(spec)
        if report["service"] == "dynamodb":
            report["moto_tables"] = moto_round_trip(spec)
        sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
