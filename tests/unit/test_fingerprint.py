"""The request fingerprint: every field the client asked for is in it, the idempotency key is not."""

from __future__ import annotations

from typing import Any

import pytest

from jobs_api.models import CreateJobRequest

BASE: dict[str, Any] = {
    "client_id": "client-1",
    "source_currency": "USD",
    "target_currency": "EUR",
    "source_amount": "100.25",
    "idempotency_key": "key-1",
}


def fingerprint(**overrides: Any) -> str:
    return CreateJobRequest.model_validate({**BASE, **overrides}).fingerprint()


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("client_id", "client-2"),
        ("source_currency", "GBP"),
        ("target_currency", "JPY"),
        ("source_amount", "100.26"),
    ],
)
def test_each_requested_field_changes_the_fingerprint(field: str, other: str) -> None:
    assert fingerprint(**{field: other}) != fingerprint()


def test_swapping_the_currencies_changes_the_fingerprint() -> None:
    assert fingerprint(source_currency="EUR", target_currency="USD") != fingerprint()


def test_the_idempotency_key_is_not_part_of_the_request() -> None:
    assert fingerprint(idempotency_key="key-2") == fingerprint(idempotency_key=None) == fingerprint()


def test_fingerprint_is_a_sha256_hex_digest_and_stable() -> None:
    value = fingerprint()
    assert len(value) == 64 and int(value, 16) >= 0
    assert value == fingerprint(), "the same request always hashes the same"


def test_fingerprint_of_a_known_request_never_changes() -> None:
    """Stored as request_hash: a new value for the same request would answer replays of keys
    accepted before a deploy with 409 instead of the original job."""
    request = CreateJobRequest.model_validate({**BASE, "idempotency_key": None})
    assert request.fingerprint() == "a24694d2af9deca4ffc816969949b4670bf5d1f809501fbf8fa2f888f2366cf2"
