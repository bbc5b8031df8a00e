"""Payments' amounts and requests: minor units per ISO 4217, exact parsing, each field's validation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from iso4217 import Currency
from pydantic import ValidationError

from labcore.currencies import ISO_4217, MINOR_UNITS, from_minor_units, to_minor_units
from payments.models import MAX_AMOUNT, CreatePayment, GetPayment, Invocation

CODES = sorted(ISO_4217)
# Withdrawn from ISO 4217 after ISO_4217 was written (ANG by XCG, BGN by the euro); both had cents.
WITHDRAWN = {"ANG": 2, "BGN": 2}


def test_minor_units_are_iso_4217_exponents_for_every_accepted_code() -> None:
    iso = {currency.code: currency.exponent for currency in Currency}
    assert set(MINOR_UNITS) == ISO_4217
    for code in CODES:
        assert MINOR_UNITS[code] == iso.get(code, WITHDRAWN.get(code)), code
    assert {code: MINOR_UNITS[code] for code in ("USD", "JPY", "BHD", "KWD", "CLP")} == {
        "USD": 2,
        "JPY": 0,
        "BHD": 3,
        "KWD": 3,
        "CLP": 0,
    }


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("100.50", "USD", 10050),
        ("100.5", "USD", 10050),
        ("0.01", "USD", 1),
        ("100", "JPY", 100),
        ("100.0", "JPY", 100),  # a zero past the unit loses nothing: the value is whole yen
        ("1.234", "BHD", 1234),
        ("0.001", "KWD", 1),
        ("1E+2", "USD", 10000),
    ],
)
def test_to_minor_units_examples(amount: str, currency: str, units: int) -> None:
    assert to_minor_units(Decimal(amount), currency) == units


@pytest.mark.parametrize(
    ("amount", "currency"), [("100.505", "USD"), ("0.5", "JPY"), ("1.2345", "BHD"), ("0.001", "EUR")]
)
def test_more_places_than_the_currency_has_is_refused_never_rounded(amount: str, currency: str) -> None:
    with pytest.raises(ValueError, match=f"at most {MINOR_UNITS[currency]} decimal places for {currency}"):
        to_minor_units(Decimal(amount), currency)


def test_digits_past_the_decimal_precision_are_refused_not_rounded() -> None:
    with pytest.raises(ValueError, match="too many digits"):
        to_minor_units(Decimal("1" * 30 + ".01"), "USD")
    with pytest.raises(ValueError, match="finite"):
        to_minor_units(Decimal("NaN"), "USD")


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(CODES))
def test_minor_units_round_trip(units: int, currency: str) -> None:
    amount = from_minor_units(units, currency)
    assert amount.as_tuple().exponent == -MINOR_UNITS[currency]  # written at the currency's exponent
    assert to_minor_units(amount, currency) == units


@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False), st.sampled_from(CODES))
def test_an_amount_converts_exactly_or_not_at_all(amount: Decimal, currency: str) -> None:
    try:
        units = to_minor_units(amount, currency)
    except ValueError:
        assert amount != amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]), rounding="ROUND_DOWN")
    else:
        assert from_minor_units(units, currency) == amount


# --- CreatePayment ------------------------------------------------------------------------------------
def create(**data: Any) -> CreatePayment:
    return CreatePayment.model_validate({"amount": "100.50", "currency": "USD", **data})


def problems(model: type[Any], data: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors(include_url=False)}


@pytest.mark.parametrize("amount", [Decimal("100.50"), "100.50", "100.5", 100.5, 100.50, Decimal("1.005E+2")])
def test_each_spelling_of_an_amount_is_the_same_minor_units(amount: object) -> None:
    request = create(amount=amount)
    assert request.minor_units == 10050
    assert request.fingerprint("partner1") == create(amount="100.50").fingerprint("partner1")


# Every valid payment: a currency, and 1 up to MAX_AMOUNT in its minor units.
valid_payments = st.sampled_from(CODES).flatmap(
    lambda code: st.tuples(st.integers(1, int(MAX_AMOUNT) * 10 ** MINOR_UNITS[code]), st.just(code))
)


@given(valid_payments)
@example((10050, "USD"))
@example((1, "BHD"))
@example((999_999_999_999, "KWD"))
def test_a_float_from_a_direct_invoke_is_the_number_the_client_wrote(payment: tuple[int, str]) -> None:
    units, currency = payment
    written = from_minor_units(units, currency)  # what a client writes in its JSON
    parsed_by_the_runtime = float(str(written))
    assert create(amount=parsed_by_the_runtime, currency=currency).minor_units == units


def test_integer_amounts_and_large_values_stay_exact() -> None:
    assert create(amount=100, currency="JPY").minor_units == 100
    assert create(amount=str(MAX_AMOUNT), currency="BHD").minor_units == 10**12
    assert create(amount=999_999_999.999, currency="KWD").minor_units == 999_999_999_999


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": 0}, "amount", "greater than 0"),
        ({"amount": "-1"}, "amount", "plain decimal number"),
        ({"amount": -1.5}, "amount", "greater than 0"),
        ({"amount": "1e3"}, "amount", "plain decimal number"),
        ({"amount": " 1"}, "amount", "plain decimal number"),
        ({"amount": True}, "amount", "must be a number"),
        ({"amount": None}, "amount", "must be a number"),
        ({"amount": [1]}, "amount", "must be a number"),
        ({"amount": float("inf")}, "amount", "finite"),
        ({"amount": float("nan")}, "amount", "finite"),
        ({"amount": "1000000000.01"}, "amount", "at most 1000000000"),
        ({"amount": "100.505"}, "amount", "at most 2 decimal places for USD"),
        ({"amount": 100.505}, "amount", "at most 2 decimal places for USD"),
        ({"amount": "1.5", "currency": "JPY"}, "amount", "at most 0 decimal places for JPY"),
        ({"currency": "usd"}, "currency", "should match pattern"),
        ({"currency": "XXX"}, "currency", "unknown currency 'XXX'"),
        ({"currency": 840}, "currency", "valid string"),
        ({"idempotencyKey": ""}, "idempotencyKey", "at least 1 character"),
        ({"idempotencyKey": "k" * 129}, "idempotencyKey", "at most 128 characters"),
        ({"idempotencyKey": "a\nb"}, "idempotencyKey", "should match pattern"),
        ({"idempotencyKey": 7}, "idempotencyKey", "valid string"),
        ({"idempotency_key": "k"}, "idempotency_key", "Extra inputs are not permitted"),
        ({"status": "paid"}, "status", "Extra inputs are not permitted"),
    ],
)
def test_each_invalid_field_is_named(data: dict[str, Any], field: str, message: str) -> None:
    found = problems(CreatePayment, {"amount": "100.50", "currency": "USD", **data})
    assert list(found) == [field]
    assert message in found[field]


def test_missing_fields_are_named_and_an_invalid_currency_hides_the_places_check() -> None:
    assert set(problems(CreatePayment, {})) == {"amount", "currency"}
    assert list(problems(CreatePayment, {"amount": "1.234", "currency": "ZZZ"})) == ["currency"]


def test_the_fingerprint_tells_amounts_currencies_and_partners_apart() -> None:
    base = create().fingerprint("partner1")
    assert create(idempotencyKey="k").fingerprint("partner1") == base  # the key names, it is not hashed
    assert create(amount="100.51").fingerprint("partner1") != base
    assert create(currency="EUR").fingerprint("partner1") != base
    assert create().fingerprint("partner2") != base


# --- getPayment and the direct invoke's envelope ---------------------------------------------------------
@pytest.mark.parametrize(
    "payment_id", ["idem#k", "pay_", "pay_" + "A" * 32, "pay_" + "0" * 31, "PAY_" + "0" * 32, "0" * 32]
)
def test_a_payment_id_is_pay_and_32_lowercase_hex(payment_id: str) -> None:
    assert list(problems(GetPayment, {"paymentId": payment_id})) == ["paymentId"]
    assert GetPayment.model_validate({"paymentId": "pay_" + "0a" * 16}).payment_id == "pay_" + "0a" * 16


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ({"action": "getPayment", "data": {}}, ["partnerId"]),
        ({"partnerId": "", "action": "getPayment", "data": {}}, ["partnerId"]),
        ({"partnerId": 1, "action": "getPayment", "data": {}}, ["partnerId"]),
        ({"partnerId": "partner1", "data": {}}, ["action"]),
        ({"partnerId": "partner1", "action": "getPayment"}, ["data"]),
        ({"partnerId": "partner1", "action": "getPayment", "data": []}, ["data"]),
        ({"partnerId": "partner1", "action": "getPayment", "data": {}, "extra": 1}, ["extra"]),
        ("createPayment", [""]),
    ],
)
def test_the_invocation_envelope_names_what_is_wrong(event: Any, fields: list[str]) -> None:
    assert list(problems(Invocation, event)) == fields
