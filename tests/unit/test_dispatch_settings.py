"""DispatchSettings bounds: the smallest valid values pass, the first invalid ones are named."""

from __future__ import annotations

import pytest

from dispatcher.service import DispatchSettings


def test_the_smallest_valid_values_are_accepted() -> None:
    settings = DispatchSettings(
        batch_size=1, max_attempts=1, backoff_base_s=0.5, backoff_max_s=0.5, linger_s=0
    )
    assert (settings.batch_size, settings.max_attempts, settings.linger_s) == (1, 1, 0)
    assert DispatchSettings(linger_s=0.5).linger_s == 0.5


def test_a_negative_linger_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match=r"^dispatch setting linger_s must be >= 0, got -0.1$"):
        DispatchSettings(linger_s=-0.1)


def test_defaults() -> None:
    """The deployed values unless Terraform sets others (tests/e2e/test_retry_limits.py checks those)."""
    settings = DispatchSettings()
    assert (settings.batch_size, settings.max_attempts, settings.backoff_base_s, settings.backoff_max_s) == (
        100,
        5,
        2.0,
        300.0,
    )
