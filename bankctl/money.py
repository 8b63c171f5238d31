"""Amounts as text: parse decimal strings to minor units and format them back.

Both directions work on the digits of the string and integer arithmetic,
never through float, so "0.10" is exactly 10 haléř.
"""

from __future__ import annotations

import re

from bank_common.validation import MAX_AMOUNT

# ISO 4217 minor-unit exponents of the currencies the ledger ships with.
EXPONENTS = {
    "CZK": 2,
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "PLN": 2,
    "HUF": 2,
    "SEK": 2,
    "JPY": 0,
    "BHD": 3,
}

# [0-9], not \d: \d matches every Unicode digit, so "１２" (fullwidth) or "٣"
# (Arabic-Indic) would pass as 12 and 3.
_DECIMAL = re.compile(r"(?P<sign>-?)(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")


def exponent(currency: str) -> int:
    """Return the currency's minor-unit exponent, or raise ValueError if unknown."""
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValueError(
            f"currency {currency!r} has no known minor-unit exponent: use one of "
            f"{', '.join(sorted(EXPONENTS))}"
        ) from None


def to_minor_units(text: str, digits: int) -> int:
    """Parse a decimal string such as "2452.00" or "-3.5" into minor units.

    ``digits`` is the number of decimal places of the minor unit (2 for
    haléř). Raises ValueError if the text is not a plain decimal number, has
    spaces or a leading zero ("05.00"), or has more decimal places than the
    minor unit can hold.
    """
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a decimal number such as 2452.00 (digits 0-9 only, "
            "no spaces)"
        )
    whole = match["whole"]
    if len(whole) > 1 and whole.startswith("0"):
        canonical = match["sign"] + (whole.lstrip("0") or "0")
        if match["fraction"] is not None:
            canonical += "." + match["fraction"]
        raise ValueError(f"{text!r} has a leading zero: write it as {canonical}")
    fraction = match["fraction"] or ""
    if len(fraction) > digits:
        raise ValueError(
            f"{text!r} has {len(fraction)} decimal places, more than the "
            f"{digits} of the currency's minor unit"
        )
    units = int(whole) * 10**digits + int(fraction.ljust(digits, "0") or 0)
    return -units if match["sign"] else units


def parse_amount(text: str, currency: str, minimum: int = 1) -> int:
    """Parse an amount typed by an operator into minor units of ``currency``.

    Raises ValueError unless the result is from ``minimum`` to MAX_AMOUNT
    minor units, the ledger's limit for one posting and for an overdraft
    limit. The default minimum of 1 rejects zero and negative amounts.
    """
    minor_units = to_minor_units(text, exponent(currency))
    if minor_units < minimum:
        raise ValueError(
            f"{text} {currency} is below the minimum of "
            f"{format_amount(minimum, currency)}"
        )
    if minor_units > MAX_AMOUNT:
        raise ValueError(
            f"{text} {currency} is above the ledger's limit of "
            f"{format_amount(MAX_AMOUNT, currency)} ({MAX_AMOUNT} minor units): "
            "check the amount"
        )
    return minor_units


def format_minor_units(minor_units: int, digits: int) -> str:
    """Format minor units as a decimal string: 245200 with 2 digits is "2452.00"."""
    sign = "-" if minor_units < 0 else ""
    whole, fraction = divmod(abs(minor_units), 10**digits)
    if digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{digits}d}"


def format_amount(minor_units: int, currency: str) -> str:
    """Format an amount with its currency code, for example "2452.00 CZK"."""
    digits = EXPONENTS.get(currency)
    if digits is None:
        return f"{minor_units} minor units {currency}"
    return f"{format_minor_units(minor_units, digits)} {currency}"
