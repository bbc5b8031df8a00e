"""The partners (PARTNERS) and access to each one's payments table through a role in its account."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    StringConstraints,
    model_validator,
)
from pydantic_settings import NoDecode

from labcore.clients import client, new_client
from labcore.config import FunctionSettings, json_object
from labcore.errors import NotFound, Unavailable
from payments.service import PaymentTable

logger = Logger(child=True)

PartnerId = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Clock = Callable[[], datetime]


class UnknownPartner(NotFound):
    code = "unknown_partner"


class Partner(BaseModel):
    """Where a partner's payments live and the role that reaches them (one entry of PARTNERS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
    role_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]
    external_id: Annotated[str, StringConstraints(min_length=2, max_length=1224, pattern=r"^[\w+=,.@:/-]+$")]
    table_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]

    @model_validator(mode="after")
    def _role_in_the_account(self) -> Self:
        if self.role_arn.split(":")[4] != self.account_id:
            raise ValueError(f"role_arn {self.role_arn} is not in account {self.account_id}")
        return self


class PaymentsSettings(FunctionSettings):
    """The payments function's settings (set by Terraform); it has no database."""

    partners: Annotated[dict[PartnerId, Partner], NoDecode, json_object("partner id -> partner")] = Field(
        min_length=1
    )
    payments_credentials_margin_s: NonNegativeInt = 300  # refresh this long before credentials expire
    # STS's minimum to the hour that role chaining allows: a Lambda's own credentials are a role session.
    payments_session_duration_s: int = Field(default=3600, ge=900, le=3600)

    @model_validator(mode="after")
    def _margin_inside_the_session(self) -> Self:
        if self.payments_credentials_margin_s >= self.payments_session_duration_s:
            raise ValueError(
                "PAYMENTS_CREDENTIALS_MARGIN_S must be shorter than PAYMENTS_SESSION_DURATION_S,"
                " or every invocation would assume the role again"
            )
        return self


@dataclass(frozen=True)
class _Access:
    table: PaymentTable
    refresh_at: datetime


def sts_client() -> Any:
    return client("sts")


def dynamodb_client(partner: Partner, credentials: Mapping[str, Any]) -> Any:
    """A client for the partner's region with the assumed role's credentials."""
    return new_client(
        "dynamodb",
        region_name=partner.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _now() -> datetime:
    return datetime.now(UTC)


class PartnerAccess:
    """One DynamoDB client per partner, rebuilt only when its assumed-role credentials are refreshed.

    Credentials are reused until `margin_s` before they expire, so warm invocations make no STS call.
    A Lambda environment serves one invocation at a time: the cache needs no lock.
    """

    def __init__(
        self,
        partners: Mapping[str, Partner],
        *,
        margin_s: int,
        duration_s: int,
        make_sts: Callable[[], Any] = sts_client,
        make_dynamodb: Callable[[Partner, Mapping[str, Any]], Any] = dynamodb_client,
        clock: Clock = _now,
    ) -> None:
        self._partners = dict(partners)
        self._margin = timedelta(seconds=margin_s)
        self._duration_s = duration_s
        self._make_sts, self._make_dynamodb, self._clock = make_sts, make_dynamodb, clock
        self._sts: Any = None
        self._cache: dict[str, _Access] = {}

    def partner(self, partner_id: str) -> Partner:
        """The configured partner: checked before a request's data, and without calling STS."""
        partner = self._partners.get(partner_id)
        if partner is None:
            raise UnknownPartner(f"unknown partner {partner_id!r}")
        return partner

    def table(self, partner_id: str) -> PaymentTable:
        """The partner's table, assuming its role first when there are no fresh credentials."""
        partner = self.partner(partner_id)
        cached = self._cache.get(partner_id)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.table
        credentials = self._assume_role(partner_id, partner)
        table = PaymentTable(partner_id, self._make_dynamodb(partner, credentials), partner.table_name)
        self._cache[partner_id] = _Access(table, credentials["Expiration"] - self._margin)
        return table

    def _assume_role(self, partner_id: str, partner: Partner) -> Mapping[str, Any]:
        if self._sts is None:
            self._sts = self._make_sts()
        try:
            response = self._sts.assume_role(
                RoleArn=partner.role_arn,
                RoleSessionName=f"payments-{partner_id}",
                ExternalId=partner.external_id,
                DurationSeconds=self._duration_s,
            )
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable(f"partner {partner_id} cannot be reached") from exc
        credentials: Mapping[str, Any] = response["Credentials"]
        logger.info(
            "assumed partner role",
            extra={"partner_id": partner_id, "expires_at": credentials["Expiration"].isoformat()},
        )
        return credentials
