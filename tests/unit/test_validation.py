"""Request field checks in bank_common.validation."""

import datetime as dt

import pytest

from bank_common import validation
from bank_common.errors import InvalidArgument

CURRENCIES = frozenset({"CZK", "EUR", "JPY"})


def reason_of(check, *args, **kwargs) -> str:
    with pytest.raises(InvalidArgument) as failure:
        check(*args, **kwargs)
    return failure.value.reason


@pytest.mark.parametrize("value", ["a", "req-1", "x" * 128, "!~", "550e8400-e29b"])
def test_request_id_accepts_printable_ascii(value):
    assert validation.request_id(value) == value


def test_request_id_rejects_empty():
    assert reason_of(validation.request_id, "") == "MISSING_REQUEST_ID"


@pytest.mark.parametrize(
    "value", ["x" * 129, "has space", "tab\there", "new\nline", "é", "\x7f"]
)
def test_request_id_rejects_bad_characters_and_length(value):
    assert reason_of(validation.request_id, value) == "INVALID_REQUEST_ID"


def test_request_id_message_clips_oversize_value():
    with pytest.raises(InvalidArgument) as failure:
        validation.request_id("y" * 10_000)
    assert len(failure.value.message) < 200
    assert failure.value.field == "request_id"


@pytest.mark.parametrize("value", [0, -1, -(2**63)])
def test_positive_id_rejects_zero_and_negative(value):
    assert reason_of(validation.positive_id, value, "account_id", "account") == (
        "INVALID_ID"
    )


def test_positive_id_returns_value():
    assert validation.positive_id(2**63 - 1, "account_id", "account") == 2**63 - 1


def test_text_trims_and_maps_empty_to_none():
    assert validation.text("  Jana  ", "name", 10) == "Jana"
    assert validation.text("", "name", 10) is None
    assert validation.text("   ", "name", 10) is None


def test_text_allows_tab_and_exact_max_length():
    assert validation.text("a\tb", "name", 3) == "a\tb"
    assert validation.text("x" * 200, "name", 200) == "x" * 200


def test_text_rejects_missing_required():
    assert reason_of(validation.text, "  ", "name", 10, required=True) == (
        "MISSING_FIELD"
    )


def test_text_rejects_oversize_with_limit_in_metadata():
    with pytest.raises(InvalidArgument) as failure:
        validation.text("x" * 201, "description", 200)
    assert failure.value.reason == "FIELD_TOO_LONG"
    assert failure.value.metadata["max_length"] == "200"
    assert "201" in failure.value.message


@pytest.mark.parametrize("value", ["line\nbreak", "nul\x00", "bell\x07"])
def test_text_rejects_control_characters(value):
    assert reason_of(validation.text, value, "name", 100) == "INVALID_TEXT"


def test_currency_code_accepts_known():
    assert validation.currency_code("EUR", "amount", CURRENCIES) == "EUR"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "MISSING_FIELD"),
        ("czk", "INVALID_CURRENCY"),
        ("CZKK", "INVALID_CURRENCY"),
        ("C1K", "INVALID_CURRENCY"),
        ("X" * 5000, "INVALID_CURRENCY"),
        ("XXX", "UNKNOWN_CURRENCY"),
    ],
)
def test_currency_code_rejects(value, reason):
    assert reason_of(validation.currency_code, value, "amount", CURRENCIES) == reason


def test_unknown_currency_message_lists_accepted_codes():
    with pytest.raises(InvalidArgument) as failure:
        validation.currency_code("XXX", "amount.currency_code", CURRENCIES)
    assert "CZK, EUR, JPY" in failure.value.message


@pytest.mark.parametrize("value", [1, 12_550, validation.MAX_AMOUNT])
def test_amount_accepts_positive_up_to_max(value):
    assert validation.amount(value, "amount.minor_units") == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (0, "INVALID_AMOUNT"),
        (-1, "INVALID_AMOUNT"),
        (-(2**63), "INVALID_AMOUNT"),
        (validation.MAX_AMOUNT + 1, "AMOUNT_TOO_LARGE"),
        (2**63 - 1, "AMOUNT_TOO_LARGE"),
    ],
)
def test_amount_rejects(value, reason):
    assert reason_of(validation.amount, value, "amount.minor_units") == reason


@pytest.mark.parametrize("value", ["1993-01-31", "2000-02-29", "1900-01-01"])
def test_iso_date_accepts_valid_dates(value):
    assert validation.iso_date(value, "value_date") == value


def test_iso_date_maps_empty_to_none():
    assert validation.iso_date("", "value_date") is None


@pytest.mark.parametrize(
    "value",
    ["1993-1-31", "1993-02-30", "31.01.1993", "19930131", "1899-12-31", "x" * 999],
)
def test_iso_date_rejects(value):
    assert reason_of(validation.iso_date, value, "value_date") == "INVALID_DATE"


def test_page_size_defaults_and_bounds():
    assert validation.page_size(0) == validation.DEFAULT_PAGE_SIZE
    assert validation.page_size(1) == 1
    assert validation.page_size(validation.MAX_PAGE_SIZE) == validation.MAX_PAGE_SIZE


@pytest.mark.parametrize("value", [-1, validation.MAX_PAGE_SIZE + 1, 2**31 - 1])
def test_page_size_rejects_out_of_range(value):
    assert reason_of(validation.page_size, value) == "INVALID_PAGE_SIZE"


@pytest.mark.parametrize("value", [0, -3])
def test_version_rejects_missing(value):
    assert reason_of(validation.version, value) == "MISSING_VERSION"


def test_version_returns_value():
    assert validation.version(7) == 7


def test_clip_keeps_short_values_and_marks_cut_ones():
    assert validation.clip("CZK") == "CZK"
    assert validation.clip("x" * 40) == "x" * 40
    assert validation.clip("x" * 5000) == "x" * 40 + "..."


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069", "\x7f"])
def test_text_rejects_reordering_and_delete_characters(char):
    with pytest.raises(InvalidArgument) as failure:
        validation.text(f"pay{char}ment", "description", 200)

    assert failure.value.reason == "INVALID_TEXT"


def test_past_date_rejects_future_dates():
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()

    with pytest.raises(InvalidArgument) as failure:
        validation.past_date(tomorrow, "customer.birth_date")

    assert failure.value.reason == "INVALID_DATE"
    assert tomorrow in failure.value.message
    assert validation.past_date("1993-01-31", "value_date") == "1993-01-31"
    assert validation.past_date(tomorrow, "value_date", slack_days=2) == tomorrow
