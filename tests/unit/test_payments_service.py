"""Payments in partners' DynamoDB tables (moto, two accounts): create, get, idempotency, isolation."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from labcore.errors import Conflict
from payments import service
from payments.models import CreatePayment, PaymentNotFound
from payments.partners import PartnerAccess
from payments_support import PARTNERS, moto_partners

NOW = datetime(2026, 11, 29, 12, 30, 45, 123456, tzinfo=UTC)


@pytest.fixture
def access(monkeypatch: pytest.MonkeyPatch) -> Iterator[PartnerAccess]:
    with moto_partners(monkeypatch) as partner_access:
        yield partner_access


def request(**data: Any) -> CreatePayment:
    return CreatePayment.model_validate({"amount": "100.50", "currency": "USD", **data})


def items(table: service.PaymentTable) -> dict[str, dict[str, Any]]:
    scanned = table.client.scan(TableName=table.table_name, ConsistentRead=True)["Items"]
    return {item["id"]["S"]: item for item in scanned}


def ids(*values: str) -> Callable[[], str]:
    return iter(values).__next__


def pay_id(n: int) -> str:
    return f"pay_{n:032x}"


def test_a_created_payment_reads_back_the_same(access: PartnerAccess) -> None:
    table = access.table("partner1")
    created = service.create_payment(table, request(), NOW)
    assert created.replayed is False
    payment = created.payment
    assert payment.to_json() == {
        "id": payment.id,
        "partnerId": "partner1",
        "amount": 10050,
        "currency": "USD",
        "status": "pending",
        "createdAt": "2026-11-29T12:30:45.123Z",
        "updatedAt": "2026-11-29T12:30:45.123Z",
    }
    assert payment.id.startswith("pay_") and len(payment.id) == 36
    assert service.get_payment(table, payment.id) == payment
    stored = items(table)[payment.id]
    assert stored["amount"] == {"N": "10050"}, "minor units as a DynamoDB number"


def test_every_payment_gets_a_new_id(access: PartnerAccess) -> None:
    table = access.table("partner1")
    first, second = (service.create_payment(table, request(), NOW).payment for _ in range(2))
    assert first.id != second.id
    assert set(items(table)) == {first.id, second.id}


def test_a_missing_payment_is_not_found(access: PartnerAccess) -> None:
    with pytest.raises(PaymentNotFound, match=f"payment {pay_id(7)} not found"):
        service.get_payment(access.table("partner1"), pay_id(7))


def test_an_id_collision_draws_another_id_and_never_overwrites(access: PartnerAccess) -> None:
    table = access.table("partner1")
    first = service.create_payment(table, request(amount="1.00"), NOW, new_id=ids(pay_id(1))).payment
    second = service.create_payment(table, request(amount="2.00"), NOW, new_id=ids(pay_id(1), pay_id(2)))
    assert second.payment.id == pay_id(2)
    assert service.get_payment(table, pay_id(1)) == first
    assert service.get_payment(table, pay_id(1)).amount == 100


def test_an_id_collision_in_the_keyed_transaction_writes_neither_item(access: PartnerAccess) -> None:
    table = access.table("partner1")
    service.create_payment(table, request(amount="1.00"), NOW, new_id=ids(pay_id(1)))
    keyed = service.create_payment(table, request(idempotencyKey="k"), NOW, new_id=ids(pay_id(1), pay_id(2)))
    assert keyed.payment.id == pay_id(2)
    assert items(table)["idem#k"]["paymentId"] == {"S": pay_id(2)}
    assert items(table)[pay_id(1)]["amount"] == {"N": "100"}


@pytest.mark.parametrize("key", [None, "k"])
def test_ids_that_keep_colliding_are_a_conflict_and_nothing_changes(
    access: PartnerAccess, key: str | None
) -> None:
    table = access.table("partner1")
    service.create_payment(table, request(amount="1.00"), NOW, new_id=ids(pay_id(1)))
    before = items(table)
    with pytest.raises(Conflict, match="no free payment id in 3 attempts"):
        service.create_payment(
            table, request(idempotencyKey=key), NOW, new_id=itertools.repeat(pay_id(1)).__next__
        )
    assert items(table) == before


def test_the_same_idempotency_key_and_request_returns_the_first_payment(access: PartnerAccess) -> None:
    table = access.table("partner1")
    first = service.create_payment(table, request(idempotencyKey="order-42"), NOW)
    assert first.payment.idempotency_key == "order-42"
    later = datetime(2026, 11, 30, tzinfo=UTC)
    for amount in ("100.50", "100.5", 100.5):
        again = service.create_payment(table, request(amount=amount, idempotencyKey="order-42"), later)
        assert again.replayed is True
        assert again.payment == first.payment
    assert set(items(table)) == {first.payment.id, "idem#order-42"}, "a replay writes nothing"
    assert service.get_payment(table, first.payment.id).to_json()["idempotencyKey"] == "order-42"


@pytest.mark.parametrize(
    "change", [{"amount": "100.51"}, {"currency": "EUR"}, {"amount": "10050", "currency": "JPY"}]
)
def test_the_same_key_with_another_request_is_a_conflict(
    access: PartnerAccess, change: dict[str, str]
) -> None:
    table = access.table("partner1")
    service.create_payment(table, request(idempotencyKey="k"), NOW)
    before = items(table)
    with pytest.raises(Conflict, match="idempotency key 'k' was already used for a different payment"):
        service.create_payment(table, request(idempotencyKey="k", **change), NOW)
    assert items(table) == before


def test_an_idempotency_item_is_never_returned_as_a_payment(access: PartnerAccess) -> None:
    table = access.table("partner1")
    service.create_payment(table, request(idempotencyKey="k"), NOW)
    with pytest.raises(PaymentNotFound):
        service.get_payment(table, "idem#k")


def test_a_payment_of_partner1_is_not_found_through_partner2(access: PartnerAccess) -> None:
    one, two = access.table("partner1"), access.table("partner2")
    payment = service.create_payment(one, request(idempotencyKey="shared"), NOW).payment
    with pytest.raises(PaymentNotFound):
        service.get_payment(two, payment.id)
    assert payment.id in items(one)
    assert items(two) == {}, "partner2's table, in its own account, holds nothing of partner1"
    other = service.create_payment(two, request(amount="7", idempotencyKey="shared"), NOW)
    assert other.replayed is False, "idempotency keys are per partner"
    assert other.payment.partner_id == "partner2"


def test_the_tables_live_in_each_partners_account_and_region(access: PartnerAccess) -> None:
    arns = {
        partner_id: access.table(partner_id).client.describe_table(TableName="payments")["Table"]["TableArn"]
        for partner_id in PARTNERS
    }
    assert arns == {
        "partner1": "arn:aws:dynamodb:us-east-1:111111111111:table/payments",
        "partner2": "arn:aws:dynamodb:eu-west-1:222222222222:table/payments",
    }


def test_an_item_of_another_partner_in_a_shared_table_is_not_returned(access: PartnerAccess) -> None:
    table = access.table("partner1")
    payment = service.create_payment(table, request(), NOW).payment
    misconfigured = service.PaymentTable("partner2", table.client, table.table_name)  # same table, wrongly
    with pytest.raises(PaymentNotFound):
        service.get_payment(misconfigured, payment.id)


class Recording:
    """The moto client, with each GetItem's arguments kept."""

    def __init__(self, client: Any) -> None:
        self.client, self.reads = client, list[dict[str, Any]]()

    def get_item(self, **kwargs: Any) -> Any:
        self.reads.append(kwargs)
        return self.client.get_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_reads_are_strongly_consistent_so_a_write_reads_back_at_once(access: PartnerAccess) -> None:
    # moto is always consistent; DynamoDB's default read may miss a write made a moment before.
    table = access.table("partner1")
    recording = service.PaymentTable("partner1", Recording(table.client), table.table_name)
    payment = service.create_payment(recording, request(idempotencyKey="k"), NOW).payment
    service.create_payment(
        recording, request(idempotencyKey="k"), NOW
    )  # the replay reads the key, then the payment
    service.get_payment(recording, payment.id)
    reads = recording.client.reads
    assert [read["Key"]["id"]["S"] for read in reads] == ["idem#k", payment.id, payment.id]
    assert all(read["ConsistentRead"] is True for read in reads)
