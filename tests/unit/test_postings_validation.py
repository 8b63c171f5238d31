"""Validation of posting requests shared by the ledger store and the
transaction service."""

import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common.errors import InvalidArgument
from bank_common.postings import validate_posting

CURRENCIES = frozenset({"CZK"})


def payment(**counterparty) -> store.PostTransactionRequest:
    return store.PostTransactionRequest(
        request_id="r-1",
        kind=pb.TRANSACTION_KIND_OUTGOING_PAYMENT,
        account_id=41,
        amount=pb.Money(currency_code="CZK", minor_units=100),
        counterparty=pb.Counterparty(**counterparty),
    )


@pytest.mark.parametrize(
    "counterparty",
    [
        {"bank_code": "0800", "account_number": "19-2000145399/0800"},
        {"bank_code": "YZ", "account_number": "87144583"},
        {"bank_code": "KOMB", "account_number": "CZ6508000000192000145399"},
    ],
)
def test_payment_accepts_real_account_formats(counterparty):
    posting = validate_posting(payment(**counterparty), CURRENCIES)

    assert posting.counterparty_bank == counterparty["bank_code"]


@pytest.mark.parametrize(
    ("counterparty", "field"),
    [
        ({"bank_code": "\U0001f600", "account_number": "1"}, "counterparty.bank_code"),
        (
            {"bank_code": "0800", "account_number": "12 34"},
            "counterparty.account_number",
        ),
        ({"bank_code": "0800"}, "counterparty.account_number"),
        ({}, "counterparty.bank_code"),
    ],
)
def test_payment_rejects_malformed_counterparty(counterparty, field):
    with pytest.raises(InvalidArgument) as failure:
        validate_posting(payment(**counterparty), CURRENCIES)

    assert failure.value.field == field


def test_value_date_may_not_be_in_the_future():
    request = payment(bank_code="0800", account_number="1")
    request.value_date = "2999-01-01"

    with pytest.raises(InvalidArgument) as failure:
        validate_posting(request, CURRENCIES)

    assert failure.value.reason == "INVALID_DATE"
