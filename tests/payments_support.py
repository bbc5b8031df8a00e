"""Two payments partners, each with its table in its own moto account and region, for unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from payments.partners import Partner, PartnerAccess

PARTNER_JSON = {
    partner_id: {
        "account_id": account,
        "region": region,
        "role_arn": f"arn:aws:iam::{account}:role/outbox-lab-payments-access",
        "external_id": f"lab-{partner_id}",
        "table_name": "payments",
    }
    for partner_id, account, region in [
        ("partner1", "111111111111", "us-east-1"),
        ("partner2", "222222222222", "eu-west-1"),
    ]
}
PARTNERS = {partner_id: Partner.model_validate(value) for partner_id, value in PARTNER_JSON.items()}


@contextmanager
def moto_partners(monkeypatch: pytest.MonkeyPatch) -> Iterator[PartnerAccess]:
    """Partner access against moto, reached through AssumeRole: each partner's table in its account."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        access = PartnerAccess(PARTNERS, margin_s=300, duration_s=3600, make_sts=lambda: sts)
        for partner_id in PARTNERS:
            access.table(partner_id).client.create_table(
                TableName="payments",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield access
