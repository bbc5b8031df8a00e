"""POST /jobs validation: amounts as exact decimals, ISO currency codes, nothing unexpected."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from jobs_api.models import MAX_AMOUNT, CreateJobRequest, Job
from labcore.currencies import ISO_4217

VALID = {"client_id": "acme", "source_currency": "USD", "target_currency": "EUR", "source_amount": "100.25"}


def parse(body: str) -> CreateJobRequest:
    """As the handler does: JSON numbers arrive as Decimal, never float."""
    return CreateJobRequest.model_validate(json.loads(body, parse_float=Decimal))


def errors_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        CreateJobRequest.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


valid_amounts = st.decimals(min_value=Decimal("0.0001"), max_value=MAX_AMOUNT, places=4, allow_nan=False)


@given(valid_amounts)
def test_amount_as_json_number_is_exact(amount: Decimal) -> None:
    body = json.dumps({**VALID, "source_amount": "__AMOUNT__"}).replace('"__AMOUNT__"', format(amount, "f"))
    assert parse(body).source_amount == amount


@given(valid_amounts)
def test_amount_as_string_is_exact(amount: Decimal) -> None:
    assert (
        CreateJobRequest.model_validate({**VALID, "source_amount": format(amount, "f")}).source_amount
        == amount
    )


def test_float_precision_is_not_lost() -> None:
    # 0.1 + 0.2 style noise would show here if the number went through float.
    request = parse(json.dumps(VALID).replace('"100.25"', "123456789.1234"))
    assert request.source_amount == Decimal("123456789.1234")


@given(st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("1000"), places=5))
def test_more_than_four_decimal_places_is_rejected(amount: Decimal) -> None:
    if amount == amount.quantize(Decimal("0.0001")):
        return  # e.g. 1.50000 is 1.5: not more precise than four places
    assert "4 decimal places" in errors_of({**VALID, "source_amount": format(amount, "f")})["source_amount"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than 0"),
        ("-5", "plain decimal number"),
        (0, "greater than 0"),
        (-1, "greater than 0"),
        ("1000000000.0001", "at most 1000000000"),
        (10**12, "at most 1000000000"),
        ("NaN", "plain decimal number"),
        ("1e3", "plain decimal number"),
        (" 12", "plain decimal number"),
        ("12.50\n", "plain decimal number"),
        (True, "number or a string"),
        (None, "number or a string"),
        ([1], "number or a string"),
    ],
)
def test_bad_amounts(amount: Any, message: str) -> None:
    assert message in errors_of({**VALID, "source_amount": amount})["source_amount"]


@given(st.sampled_from(sorted(ISO_4217)), st.sampled_from(sorted(ISO_4217)))
def test_any_two_distinct_iso_codes_are_accepted(source: str, target: str) -> None:
    data = {**VALID, "source_currency": source, "target_currency": target}
    if source == target:
        assert "differ" in errors_of(data)["target_currency"]
    else:
        assert CreateJobRequest.model_validate(data).target_currency == target


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3).filter(lambda c: c not in ISO_4217)
)
def test_unknown_codes_are_rejected(code: str) -> None:
    assert "unknown currency" in errors_of({**VALID, "source_currency": code})["source_currency"]


@pytest.mark.parametrize("code", ["usd", "US", "USDX", 840, None])
def test_malformed_codes_are_rejected(code: Any) -> None:
    assert "source_currency" in errors_of({**VALID, "source_currency": code})


def test_missing_and_unexpected_fields_are_named() -> None:
    problems = errors_of({"client_id": "acme", "source_currency": "USD", "rate": "1.1"})
    assert problems["target_currency"] == "Field required"
    assert problems["source_amount"] == "Field required"
    assert problems["rate"] == "Extra inputs are not permitted"


@pytest.mark.parametrize("key", ["", "k" * 129, "nul\x00inside", "tab\there", 7])
def test_bad_idempotency_keys(key: Any) -> None:
    assert "idempotency_key" in errors_of({**VALID, "idempotency_key": key})


@pytest.mark.parametrize("client_id", ["", "x" * 65, "has space", 42])
def test_bad_client_ids(client_id: Any) -> None:
    assert "client_id" in errors_of({**VALID, "client_id": client_id})


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("12.5", "12.5"),
        ("12.50", "12.50"),
        ("12", "12"),
        (12, "12"),
        ("0.0001", "0.0001"),
        ("100.2500", "100.2500"),
        ("1.500000", "1.5000"),  # zeros past 4 places carry nothing: down to the largest scale allowed
    ],
)
def test_amount_keeps_the_scale_it_was_given(given: Any, kept: str) -> None:
    assert (
        format(CreateJobRequest.model_validate({**VALID, "source_amount": given}).source_amount, "f") == kept
    )


def test_fingerprint_of_12_5_and_12_50_is_the_same() -> None:
    spellings = [{**VALID, "source_amount": text} for text in ("12.5", "12.50", "12.5000")]
    fingerprints = {CreateJobRequest.model_validate(data).fingerprint() for data in spellings}
    assert len(fingerprints) == 1


def test_json_number_keeps_its_scale() -> None:
    assert format(parse(json.dumps(VALID).replace('"100.25"', "12.50")).source_amount, "f") == "12.50"


@given(valid_amounts, st.integers(min_value=0, max_value=4))
def test_fingerprint_ignores_how_the_amount_was_written(amount: Decimal, extra_zeros: int) -> None:
    written = format(amount.normalize(), "f")  # 1.5000 -> "1.5": the zeros are added back below
    padded = written if not extra_zeros else written + ("" if "." in written else ".") + "0" * extra_zeros
    a = CreateJobRequest.model_validate({**VALID, "source_amount": written})
    b = parse(json.dumps(VALID).replace('"100.25"', padded))
    assert a.fingerprint() == b.fingerprint()


def test_fingerprint_tells_every_field_apart() -> None:
    base = CreateJobRequest.model_validate({**VALID, "idempotency_key": "k"})
    changes = {
        "client_id": "other",
        "source_currency": "GBP",
        "target_currency": "JPY",
        "source_amount": "100.26",
    }
    for field, value in changes.items():
        other = CreateJobRequest.model_validate({**VALID, "idempotency_key": "k", field: value})
        assert other.fingerprint() != base.fingerprint(), f"{field} must count in the fingerprint"
    same_but_key = CreateJobRequest.model_validate({**VALID, "idempotency_key": "another"})
    assert same_but_key.fingerprint() == base.fingerprint(), "the key names the request, it is not part of it"


def test_processing_is_not_a_status() -> None:
    row = {**dict.fromkeys(Job.model_fields), "job_id": "6f1c1b8e-1d6a-4c55-9a43-6f0d4f3f8f11"}
    row |= {"client_id": "a", "source_currency": "USD", "target_currency": "EUR", "source_amount": Decimal(1)}
    row |= {"created_at": "2026-11-22T01:00:00Z", "updated_at": "2026-11-22T01:00:00Z"}
    assert Job.from_row({**row, "status": "queued"}).status == "queued"
    with pytest.raises(ValidationError):
        Job.from_row({**row, "status": "processing"})
