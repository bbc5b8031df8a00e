"""Partner access: AssumeRole once per partner until shortly before expiry, one client each; PARTNERS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labcore.config import ConfigError, load
from labcore.errors import Unavailable
from payments.partners import Partner, PartnerAccess, PaymentsSettings, UnknownPartner

START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PARTNER_JSON = {
    "partner1": {
        "account_id": "111111111111",
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::111111111111:role/outbox-lab-payments-access",
        "external_id": "lab-partner1",
        "table_name": "payments",
    },
    "partner2": {
        "account_id": "222222222222",
        "region": "eu-west-1",
        "role_arn": "arn:aws:iam::222222222222:role/outbox-lab-payments-access",
        "external_id": "lab-partner2",
        "table_name": "payments-eu",
    },
}
PARTNERS = {partner_id: Partner.model_validate(value) for partner_id, value in PARTNER_JSON.items()}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class FakeSts:
    """AssumeRole's answer: fresh credentials valid for the requested duration."""

    def __init__(self, clock: Clock, fail: bool = False) -> None:
        self.clock, self.fail = clock, fail
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.fail:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
        expires = self.clock() + timedelta(seconds=kwargs["DurationSeconds"])
        key = f"ASIA{len(self.calls)}"
        return {
            "Credentials": {
                "AccessKeyId": key,
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": expires,
            }
        }


class FakeClient:
    def __init__(self, partner: Partner, credentials: Mapping[str, Any]) -> None:
        self.region, self.access_key = partner.region, credentials["AccessKeyId"]


def make_access(clock: Clock, sts: FakeSts, margin_s: int = 300, duration_s: int = 3600) -> PartnerAccess:
    return PartnerAccess(
        PARTNERS,
        margin_s=margin_s,
        duration_s=duration_s,
        make_sts=lambda: sts,
        make_dynamodb=FakeClient,
        clock=clock,
    )


def assumed(sts: FakeSts) -> list[str]:
    return [call["RoleArn"].split(":")[4] for call in sts.calls]


def test_warm_calls_reuse_one_client_per_partner_and_assume_each_role_once() -> None:
    clock = Clock()
    sts = FakeSts(clock)
    access = make_access(clock, sts)
    first = {partner_id: access.table(partner_id) for partner_id in PARTNERS}
    for _ in range(100):
        clock.now += timedelta(seconds=1)
        for partner_id in PARTNERS:
            assert access.table(partner_id) is first[partner_id]
    assert assumed(sts) == ["111111111111", "222222222222"]
    assert sts.calls[0] == {
        "RoleArn": "arn:aws:iam::111111111111:role/outbox-lab-payments-access",
        "RoleSessionName": "payments-partner1",
        "ExternalId": "lab-partner1",
        "DurationSeconds": 3600,
    }
    assert (first["partner2"].client.region, first["partner2"].table_name) == ("eu-west-1", "payments-eu")
    assert first["partner1"].client.access_key != first["partner2"].client.access_key


def test_credentials_are_refreshed_margin_before_expiry_with_a_new_client() -> None:
    clock = Clock()
    sts = FakeSts(clock)
    access = make_access(clock, sts, margin_s=300, duration_s=3600)
    old = access.table("partner1")
    clock.now = START + timedelta(seconds=3600 - 300) - timedelta(microseconds=1)
    assert access.table("partner1") is old
    assert len(sts.calls) == 1
    clock.now = START + timedelta(seconds=3600 - 300)
    new = access.table("partner1")
    assert len(sts.calls) == 2
    assert new is not old and new.client.access_key == "ASIA2"
    clock.now += timedelta(seconds=3600 - 300 - 1)
    assert access.table("partner1") is new
    assert len(sts.calls) == 2


def test_each_assume_role_is_logged_with_its_partner(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    access = make_access(clock, FakeSts(clock))
    caplog.set_level("INFO")
    for _ in range(3):
        access.table("partner1")
        access.table("partner2")
    logged = [
        (record.levelname, record.partner_id, record.expires_at)  # type: ignore[attr-defined]
        for record in caplog.records
        if record.getMessage() == "assumed partner role"
    ]
    expires = (START + timedelta(hours=1)).isoformat()
    assert logged == [("INFO", "partner1", expires), ("INFO", "partner2", expires)]


def test_an_unknown_partner_is_refused_without_calling_sts() -> None:
    clock = Clock()
    sts = FakeSts(clock)
    access = make_access(clock, sts)
    with pytest.raises(UnknownPartner, match="unknown partner 'partner3'") as caught:
        access.table("partner3")
    assert caught.value.code == "unknown_partner"
    with pytest.raises(UnknownPartner):
        access.partner("Partner1")
    assert sts.calls == []


def test_a_refused_assume_role_is_unavailable_and_caches_nothing() -> None:
    clock = Clock()
    sts = FakeSts(clock, fail=True)
    access = make_access(clock, sts)
    with pytest.raises(Unavailable, match="partner partner1 cannot be reached") as caught:
        access.table("partner1")
    assert isinstance(caught.value.__cause__, ClientError)
    sts.fail = False
    access.table("partner1")
    assert len(sts.calls) == 2


# --- PARTNERS and the credential settings, validated at cold start ----------------------------------------
# labcore.config names a problem by its location joined with "_": PARTNERS_<PARTNER ID>_<FIELD>.
@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PARTNERS", "PAYMENTS_CREDENTIALS_MARGIN_S", "PAYMENTS_SESSION_DURATION_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARTNERS", json.dumps(PARTNER_JSON))
    return monkeypatch


def test_settings_from_the_environment_need_no_database(env: pytest.MonkeyPatch) -> None:
    for name in ("DB_SECRET_ID", "DATABASE_URL", "DB_HOST"):
        env.delenv(name, raising=False)
    settings = load(PaymentsSettings)
    assert settings.partners == PARTNERS
    assert (settings.payments_credentials_margin_s, settings.payments_session_duration_s) == (300, 3600)


def variant(partner: dict[str, str]) -> str:
    return json.dumps({"partner1": {**PARTNER_JSON["partner1"], **partner}})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("PARTNERS", None, "PARTNERS: Field required"),
        ("PARTNERS", "partner1", "PARTNERS: must be a JSON object"),
        ("PARTNERS", "{}", "PARTNERS: Dictionary should have at least 1 item"),
        ("PARTNERS", '{"partner 1": {}}', "PARTNERS_PARTNER 1_[KEY]: String should match pattern"),
        ("PARTNERS", variant({"account_id": "1111"}), "PARTNERS_PARTNER1_ACCOUNT_ID: String should match"),
        ("PARTNERS", variant({"region": "Mars"}), "PARTNERS_PARTNER1_REGION: String should match"),
        ("PARTNERS", variant({"role_arn": "role"}), "PARTNERS_PARTNER1_ROLE_ARN: String should match"),
        ("PARTNERS", variant({"external_id": ""}), "PARTNERS_PARTNER1_EXTERNAL_ID: String should have"),
        ("PARTNERS", variant({"table_name": "t"}), "PARTNERS_PARTNER1_TABLE_NAME: String should match"),
        ("PARTNERS", variant({"roleArn": "x"}), "PARTNERS_PARTNER1_ROLEARN: Extra inputs are not permitted"),
        (
            "PARTNERS",
            variant({"role_arn": "arn:aws:iam::222222222222:role/r"}),
            "is not in account 111111111111",
        ),
        ("PAYMENTS_CREDENTIALS_MARGIN_S", "-1", "PAYMENTS_CREDENTIALS_MARGIN_S: Input should be greater"),
        (
            "PAYMENTS_SESSION_DURATION_S",
            "hour",
            "PAYMENTS_SESSION_DURATION_S: Input should be a valid integer",
        ),
        (
            "PAYMENTS_SESSION_DURATION_S",
            "600",
            "PAYMENTS_SESSION_DURATION_S: Input should be greater than or",
        ),
        ("PAYMENTS_SESSION_DURATION_S", "3601", "PAYMENTS_SESSION_DURATION_S: Input should be less than or"),
        ("PAYMENTS_CREDENTIALS_MARGIN_S", "3600", "must be shorter than PAYMENTS_SESSION_DURATION_S"),
    ],
)
def test_a_bad_setting_is_named(env: pytest.MonkeyPatch, name: str, value: str | None, problem: str) -> None:
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    with pytest.raises(ConfigError, match="invalid settings") as caught:
        load(PaymentsSettings)
    assert problem in str(caught.value)
