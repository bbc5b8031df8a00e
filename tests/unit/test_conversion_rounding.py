"""Conversion arithmetic: Decimal all the way, half-even to the target currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.conversion import convert


@pytest.mark.parametrize(
    ("amount", "rate", "minor_units", "expected"),
    [
        ("100.00", "151.42", 0, "15142"),  # JPY: no minor unit
        ("0.5", "1", 0, "0"),  # half-even: ties go to the even neighbour
        ("1.5", "1", 0, "2"),
        ("2.5", "1", 0, "2"),
        ("100.00", "0.9215", 2, "92.15"),  # USD/EUR style: cents
        ("0.125", "1", 2, "0.12"),
        ("0.135", "1", 2, "0.14"),
        ("2.675", "1", 2, "2.68"),  # through float: 2.67499999... and 2.67
        ("1.015", "1", 2, "1.02"),  # through float: 1.01499999... and 1.01
        ("0.1", "3", 2, "0.30"),
        ("1.1", "1.1", 4, "1.2100"),  # through float: 1.2100000000000002, still 1.2100: a pair above
        ("10.0001", "0.377", 3, "3.770"),  # BHD: three decimals
        ("1.0005", "1", 3, "1.000"),
        ("1.0015", "1", 3, "1.002"),
        ("999999999.9999", "1345.5", 0, "1345500000000"),  # 1345499999999.865 45: exact, then rounded
    ],
)
def test_rounding_table(amount: str, rate: str, minor_units: int, expected: str) -> None:
    result = convert(Decimal(amount), Decimal(rate), minor_units)
    assert result == Decimal(expected)
    assert str(result) == expected, "the scale is the currency's minor units"
