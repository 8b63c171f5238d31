"""Checks of request fields, each raising ``InvalidArgument`` with the fix.

The ledger store runs them on every request and is the authority. The
account and transaction services run them only on fields of their own API.
"""

from __future__ import annotations

import datetime as dt
import re

from bank_common.errors import InvalidArgument

REQUEST_ID_MAX = 128
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Largest amount of one posting: 10^15 minor units (10 trillion CZK). Larger
# values are almost certainly unit mistakes (whole units sent as minor units
# twice over), and the limit keeps every balance far inside BIGINT.
MAX_AMOUNT = 10**15
# Largest absolute balance of any account, the bank's own included.
MAX_BALANCE = 10**18

# Embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069)
# reorder how text is displayed, so a statement line could show something
# other than what it contains.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Range of client-supplied times, in microseconds since the Unix epoch:
# 1900-01-01 (the oldest date the ledger accepts) to the end of 9999, the
# last year a protobuf Timestamp or a DuckDB TIMESTAMPTZ column can hold.
MIN_TIME_US = -2_208_988_800 * 1_000_000
MAX_TIME_US = 253_402_300_799_999_999
_NANOS_PER_SECOND = 1_000_000_000

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def request_id(value: str) -> str:
    if not value:
        raise InvalidArgument(
            "request_id is missing: send a unique id per operation, such as a UUID, "
            "and reuse it only to retry that operation",
            field="request_id",
            reason="MISSING_REQUEST_ID",
        )
    if not _REQUEST_ID.fullmatch(value):
        raise InvalidArgument(
            f"request_id {clip(value)!r} is invalid: use 1 to {REQUEST_ID_MAX} "
            "printable "
            "ASCII characters without spaces",
            field="request_id",
            reason="INVALID_REQUEST_ID",
        )
    return value


def positive_id(value: int, field: str, what: str) -> int:
    if value <= 0:
        raise InvalidArgument(
            f"{field} is {value}: set it to the id of an existing {what} (ids start "
            "at 1)",
            field=field,
            reason="INVALID_ID",
        )
    return value


def text(
    value: str, field: str, max_length: int, *, required: bool = False
) -> str | None:
    """Return the trimmed text, None when empty, or raise if too long or missing."""
    if any((ord(char) < 0x20 and char != "\t") or char == "\x7f" for char in value):
        raise InvalidArgument(
            f"{field} contains control characters: remove line breaks and other "
            "control characters",
            field=field,
            reason="INVALID_TEXT",
        )
    bidi = next((char for char in value if char in _BIDI_CONTROLS), None)
    if bidi is not None:
        raise InvalidArgument(
            f"{field} contains the bidirectional control character "
            f"U+{ord(bidi):04X}, which can make text display in a misleading "
            "order: remove it",
            field=field,
            reason="INVALID_TEXT",
        )
    stripped = value.strip()
    if required and not stripped:
        raise InvalidArgument(
            f"{field} is missing: it is required", field=field, reason="MISSING_FIELD"
        )
    if len(stripped) > max_length:
        raise InvalidArgument(
            f"{field} has {len(stripped)} characters: shorten it to at most "
            f"{max_length}",
            field=field,
            reason="FIELD_TOO_LONG",
            max_length=max_length,
        )
    return stripped or None


def currency_code(value: str, field: str, known: frozenset[str]) -> str:
    if not value:
        raise InvalidArgument(
            f"{field} is missing: give an ISO 4217 code such as CZK or EUR",
            field=field,
            reason="MISSING_FIELD",
        )
    if not _CURRENCY.fullmatch(value):
        raise InvalidArgument(
            f"{field} {clip(value)!r} is not an ISO 4217 code: use three upper-case "
            "letters such as CZK",
            field=field,
            reason="INVALID_CURRENCY",
        )
    if value not in known:
        raise InvalidArgument(
            f"{field} {value} is not a currency this ledger accepts: use one of "
            f"{', '.join(sorted(known))}",
            field=field,
            reason="UNKNOWN_CURRENCY",
        )
    return value


def amount(minor_units: int, field: str) -> int:
    """Check a request amount: a positive count of minor units, at most MAX_AMOUNT."""
    if minor_units <= 0:
        raise InvalidArgument(
            f"{field} is {minor_units}: amounts are positive counts of minor units "
            "(for example 12550 for 125.50 CZK); the operation sets the direction",
            field=field,
            reason="INVALID_AMOUNT",
        )
    if minor_units > MAX_AMOUNT:
        raise InvalidArgument(
            f"{field} is {minor_units}, above the limit of {MAX_AMOUNT} minor units "
            "per "
            "posting: check the units, or split the amount",
            field=field,
            reason="AMOUNT_TOO_LARGE",
            max_minor_units=MAX_AMOUNT,
        )
    return minor_units


def past_date(value: str, field: str, *, slack_days: int = 0) -> str | None:
    """Return a YYYY-MM-DD date no later than ``slack_days`` after today (UTC)."""
    checked = iso_date(value, field)
    if checked is None:
        return None
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=slack_days)
    if dt.date.fromisoformat(checked) > latest:
        raise InvalidArgument(
            f"{field} {checked} is in the future: use a date up to {latest}",
            field=field,
            reason="INVALID_DATE",
        )
    return checked


def iso_date(value: str, field: str) -> str | None:
    """Return a YYYY-MM-DD date, None when empty, or raise if malformed."""
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            f"{field} {clip(value)!r} is not a date: use YYYY-MM-DD, e.g. 1993-01-31",
            field=field,
            reason="INVALID_DATE",
        ) from None
    if parsed.year < 1900:
        raise InvalidArgument(
            f"{field} {value} is before 1900: check the year",
            field=field,
            reason="INVALID_DATE",
        )
    return value


def enum_name(enum_type, value: int) -> str:
    """Return the name of an enum value, or the number when it is unknown."""
    if value in enum_type.values():
        return enum_type.Name(value)
    return str(value)


def time_micros(seconds: int, nanos: int, field: str) -> int:
    """Return a Timestamp's value in microseconds, or raise if it is out of range.

    Takes the Timestamp's ``seconds`` and ``nanos``; a valid Timestamp has
    nanos from 0 to 999,999,999, and the ledger takes times from 1900 to 9999.
    """
    if not 0 <= nanos < _NANOS_PER_SECOND:
        raise InvalidArgument(
            f"{field}.nanos is {nanos}: use 0 to 999999999, with the whole seconds "
            f"in {field}.seconds",
            field=field,
            reason="INVALID_TIME",
        )
    micros = seconds * 1_000_000 + nanos // 1000
    if not MIN_TIME_US <= micros <= MAX_TIME_US:
        raise InvalidArgument(
            f"{field}.seconds is {seconds}, outside 1900-01-01 to 9999-12-31: "
            "check the value, which counts seconds since 1970-01-01 UTC",
            field=field,
            reason="INVALID_TIME",
        )
    return micros


def page_size(value: int, field: str = "page_size") -> int:
    if value < 0 or value > MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"{field} is {value}: use 1 to {MAX_PAGE_SIZE}, or 0 for the default of "
            f"{DEFAULT_PAGE_SIZE}",
            field=field,
            reason="INVALID_PAGE_SIZE",
        )
    return value or DEFAULT_PAGE_SIZE


def version(value: int, field: str = "expected_version") -> int:
    if value <= 0:
        raise InvalidArgument(
            f"{field} is {value}: send the version you read (from the record's "
            "version field) so a concurrent change is not overwritten",
            field=field,
            reason="MISSING_VERSION",
        )
    return value


def clip(value: str, limit: int = 40) -> str:
    """Shorten a rejected value for an error message.

    Error messages travel in gRPC headers, and a client drops a status whose
    headers exceed its limit (8 KiB by default in grpcio 1.85), so a message
    may quote only a bounded part of what the request sent.
    """
    return value if len(value) <= limit else value[:limit] + "..."
