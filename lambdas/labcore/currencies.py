"""ISO 4217 currency codes in circulation with their minor units: what the APIs accept."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, Inexact, localcontext
from types import MappingProxyType

ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)

# The ISO 4217 exponent of the codes above whose minor unit is not the cent (2), from ISO's own list.
_MINOR_UNITS_OTHER_THAN_2 = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}

MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {code: _MINOR_UNITS_OTHER_THAN_2.get(code, 2) for code in sorted(ISO_4217)}
)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The amount as a whole number of the currency's minor units (100.50 USD is 10050), exactly.

    A ValueError when the amount has a non-zero digit past the currency's minor unit: never rounded.
    """
    exponent = MINOR_UNITS[currency]
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    try:
        with localcontext() as exact:
            exact.traps[Inexact] = True  # scaling past the context's precision fails instead of rounding
            units = amount.scaleb(exponent)
    except Inexact as exc:
        raise ValueError("has too many digits") from exc
    if units != units.to_integral_value():
        raise ValueError(f"must have at most {exponent} decimal places for {currency}")
    return int(units)


def from_minor_units(units: int, currency: str) -> Decimal:
    """The amount in the currency's major unit at its exponent (10050 USD is 100.50)."""
    with localcontext() as exact:
        exact.traps[Inexact] = True
        return Decimal(units).scaleb(-MINOR_UNITS[currency])
