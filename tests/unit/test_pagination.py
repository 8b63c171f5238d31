"""Page tokens of db_service.pagination."""

import base64
import json

import pytest

from bank_common.errors import InvalidArgument
from db_service import pagination


def raw_token(body: object) -> str:
    """Encode ``body`` the way pagination.encode does, without its checks."""
    text = json.dumps(body).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def reason_of(token: str, query: str = "customers") -> str:
    with pytest.raises(InvalidArgument) as failure:
        pagination.decode(token, query)
    assert failure.value.field == "page_token"
    return failure.value.reason


@pytest.mark.parametrize("key", [0, 1, 17, 2**63 - 1])
def test_token_round_trips_last_key(key):
    token = pagination.encode("accounts:5", key)

    assert pagination.decode(token, "accounts:5") == key


def test_empty_token_starts_at_zero():
    assert pagination.decode("", "customers") == 0


def test_token_is_url_safe_without_padding():
    token = pagination.encode("statement:1:None:None", 123456789)

    assert "=" not in token
    assert set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_token_of_another_query_is_rejected():
    token = pagination.encode("accounts:5", 10)

    with pytest.raises(InvalidArgument) as failure:
        pagination.decode(token, "accounts:6")

    assert failure.value.reason == "INVALID_PAGE_TOKEN"
    assert "different query" in failure.value.message


def test_statement_token_with_other_dates_is_rejected():
    token = pagination.encode("statement:1:1995-01-01:None", 10)

    assert reason_of(token, "statement:1:None:None") == "INVALID_PAGE_TOKEN"


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        "%%%%",
        "abc",
        "ÿÿÿÿ",
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
    ],
)
def test_undecodable_token_is_rejected(token):
    assert reason_of(token) == "INVALID_PAGE_TOKEN"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],
        "a string",
        {"q": "x", "k": 1},
        {"v": 2, "q": "x", "k": 1},
        {"v": 1, "q": "x"},
        {"v": 1, "q": "x", "k": "10"},
        {"v": 1, "q": "x", "k": 1.5},
        {"v": 1, "q": "x", "k": -1},
    ],
)
def test_token_with_wrong_body_is_rejected(body):
    assert reason_of(raw_token(body)) == "INVALID_PAGE_TOKEN"


def test_edited_token_is_rejected():
    token = pagination.encode("customers", 10)
    edited = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    assert reason_of(edited) == "INVALID_PAGE_TOKEN"


@pytest.mark.parametrize(
    "key", [2**63, 10**50, True], ids=["beyond-bigint", "beyond-hugeint", "bool"]
)
def test_token_with_key_outside_bigint_is_rejected(key):
    token = raw_token({"v": 1, "q": pagination._fingerprint("customers"), "k": key})

    assert reason_of(token) == "INVALID_PAGE_TOKEN"


def test_deeply_nested_token_is_rejected():
    token = base64.urlsafe_b64encode(b"[" * 100_000).decode()

    assert reason_of(token) == "INVALID_PAGE_TOKEN"


def test_oversize_token_is_rejected_even_when_well_formed():
    body = {"v": 1, "q": pagination._fingerprint("customers"), "k": 5}
    token = raw_token({**body, "padding": "x" * pagination.MAX_TOKEN_LENGTH})

    assert pagination.decode(raw_token(body), "customers") == 5
    assert reason_of(token) == "INVALID_PAGE_TOKEN"
