"""Fixtures of the plugins' tests: boto3 clients for the LocalStack that the integration tests drive."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import boto3
import pytest

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient


@pytest.fixture(scope="session")
def localstack() -> tuple[boto3.session.Session, str]:
    """A session with LocalStack's documented dummy credentials, and its endpoint."""
    session = boto3.session.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (not a secret: LocalStack accepts any)
        region_name="us-east-1",
    )
    return session, os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")


@pytest.fixture(scope="session")
def lambda_client(localstack: tuple[boto3.session.Session, str]) -> LambdaClient:
    session, endpoint = localstack
    return session.client("lambda", endpoint_url=endpoint)


@pytest.fixture(scope="session")
def logs_client(localstack: tuple[boto3.session.Session, str]) -> CloudWatchLogsClient:
    session, endpoint = localstack
    return session.client("logs", endpoint_url=endpoint)


@pytest.fixture(scope="session")
def sqs_client(localstack: tuple[boto3.session.Session, str]) -> SQSClient:
    session, endpoint = localstack
    return session.client("sqs", endpoint_url=endpoint)
