"""DynamoDB and DynamoDB Streams served by moto inside LocalStack, with no Java and no download."""

from __future__ import annotations

import threading

from localstack.aws.api import RequestContext, ServiceRequest, ServiceResponse
from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi
from localstack.aws.forwarder import ForwardingFallbackDispatcher
from localstack.aws.skeleton import DispatchTable
from localstack.services.moto import call_moto
from localstack.services.plugins import Service, aws_provider

# The name PROVIDER_OVERRIDE_DYNAMODB and PROVIDER_OVERRIDE_DYNAMODBSTREAMS select.
PROVIDER_NAME = "moto"

# moto's DynamoDB is not thread-safe: racing TransactWriteItems had two winners on one condition and
# failed with "dictionary changed size during iteration". One lock for both APIs, as Streams reads
# the tables' change records.
MOTO_LOCK = threading.Lock()


def call_moto_serialised(context: RequestContext, request: ServiceRequest) -> ServiceResponse:
    """Hand the parsed request to moto (with the account and region LocalStack resolved), one at a time."""
    with MOTO_LOCK:
        return call_moto(context)


def moto_dispatch(provider: object) -> DispatchTable:
    """Every operation the provider does not implement (all of them) goes to moto under the lock."""
    return ForwardingFallbackDispatcher(provider, call_moto_serialised)


class MotoDynamoDBProvider(DynamodbApi):
    """Implements no operation itself: each one raises NotImplementedError and falls through to moto."""


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """Implements no operation itself: each one raises NotImplementedError and falls through to moto."""


@aws_provider(api="dynamodb", name=PROVIDER_NAME)  # type: ignore[untyped-decorator]
def dynamodb_moto() -> Service:
    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=moto_dispatch)


@aws_provider(api="dynamodbstreams", name=PROVIDER_NAME)  # type: ignore[untyped-decorator]
def dynamodbstreams_moto() -> Service:
    return Service.for_provider(MotoDynamoDBStreamsProvider(), dispatch_table_factory=moto_dispatch)
