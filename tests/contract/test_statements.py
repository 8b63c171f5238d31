"""TransactionService reads: GetTransaction and ListStatement."""

import grpc
import pytest

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.contract.client import TIMEOUT, fails

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_get_transaction_by_id_matches_posting(api):
    posted = api.deposit(api.account().account_id, 999)

    read = api.transactions.GetTransaction(
        txn.GetTransactionRequest(
            transaction_id=posted.transaction.transaction_id,
            min_sequence=posted.commit_sequence,
        ),
        timeout=TIMEOUT,
    ).transaction

    assert read == posted.transaction


@pytest.mark.parametrize(
    ("fields", "code", "reason"),
    [
        (
            {"transaction_id": 10**12},
            grpc.StatusCode.NOT_FOUND,
            "TRANSACTION_NOT_FOUND",
        ),
        ({"external_ref": "none"}, grpc.StatusCode.NOT_FOUND, "TRANSACTION_NOT_FOUND"),
        ({}, INVALID, "INVALID_KEY"),
        ({"transaction_id": 1, "external_ref": "x"}, INVALID, "INVALID_KEY"),
        ({"transaction_id": -3}, INVALID, "INVALID_ID"),
    ],
)
def test_get_transaction_errors(api, fields, code, reason):
    failure = fails(
        api.transactions.GetTransaction, txn.GetTransactionRequest(**fields)
    )

    assert failure.code == code
    assert failure.reason == reason


def test_statement_pages_to_the_end(api):
    account = api.account(overdraft=1_000)
    amounts = [500, -200, 1_000, -1_800, 300, 50, -350]
    for amount in amounts:
        if amount > 0:
            api.deposit(account.account_id, amount)
        else:
            api.withdraw(account.account_id, -amount)

    lines, pages = api.statement(account.account_id, page_size=3)

    assert pages == 3
    assert [line.amount.minor_units for line in lines] == amounts
    running = 0
    for line in lines:
        running += line.amount.minor_units
        assert line.balance_after.minor_units == running
        assert line.amount.currency_code == "CZK"
        assert line.counter_account_id > 0
    entry_ids = [line.entry_id for line in lines]
    assert entry_ids == sorted(set(entry_ids))
    assert api.get_account(account.account_id).balance.minor_units == running


def test_statement_line_kinds_and_counterparties(api):
    account, other = api.account(), api.account()
    sender = pb.Counterparty(bank_code="2010", account_number="2400000001")
    api.deposit(account.account_id, 1_000, counterparty=sender)
    api.transfer(account.account_id, other.account_id, 400)

    lines, _ = api.statement(account.account_id)

    assert [line.kind for line in lines] == [
        pb.TRANSACTION_KIND_INCOMING_PAYMENT,
        pb.TRANSACTION_KIND_TRANSFER,
    ]
    assert lines[0].counterparty == sender
    assert lines[1].counter_account_id == other.account_id


def test_statement_filters_value_dates(api):
    account = api.account()
    for value_date in ("2020-01-10", "2020-02-10", "2020-02-29", "2020-03-10"):
        api.transactions.ImportTransaction(
            api.import_request(
                account.account_id, pb.TRANSACTION_KIND_DEPOSIT, 100, value_date
            ),
            timeout=TIMEOUT,
        )

    february, _ = api.statement(
        account.account_id, start_date="2020-02-01", end_date="2020-02-29"
    )
    from_march, _ = api.statement(account.account_id, start_date="2020-03-01")

    assert [line.value_date for line in february] == ["2020-02-10", "2020-02-29"]
    assert [line.balance_after.minor_units for line in february] == [200, 300]
    assert [line.value_date for line in from_march] == ["2020-03-10"]


def test_statement_errors(api):
    account, other = api.account(), api.account()
    for _ in range(2):
        api.deposit(account.account_id, 1)
    first_page = api.transactions.ListStatement(
        txn.ListStatementRequest(account_id=account.account_id, page_size=1),
        timeout=TIMEOUT,
    )
    cases = [
        ({"account_id": 10**12}, grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND"),
        ({"account_id": 0}, INVALID, "INVALID_ID"),
        ({"page_size": 1001}, INVALID, "INVALID_PAGE_SIZE"),
        ({"start_date": "2020-13-01"}, INVALID, "INVALID_DATE"),
        (
            {"start_date": "2020-02-01", "end_date": "2020-01-01"},
            INVALID,
            "INVALID_DATE_RANGE",
        ),
        ({"page_token": "garbage"}, INVALID, "INVALID_PAGE_TOKEN"),
        (
            # A token is bound to the account and dates it was issued for.
            {"account_id": other.account_id, "page_token": first_page.next_page_token},
            INVALID,
            "INVALID_PAGE_TOKEN",
        ),
        (
            {"page_token": first_page.next_page_token, "start_date": "2020-01-01"},
            INVALID,
            "INVALID_PAGE_TOKEN",
        ),
    ]

    for fields, code, reason in cases:
        fields.setdefault("account_id", account.account_id)
        failure = fails(
            api.transactions.ListStatement, txn.ListStatementRequest(**fields)
        )
        assert failure.code == code, reason
        assert failure.reason == reason


def test_statement_of_new_account_is_empty(api):
    account = api.account()

    page = api.transactions.ListStatement(
        txn.ListStatementRequest(account_id=account.account_id), timeout=TIMEOUT
    )

    assert list(page.lines) == []
    assert page.next_page_token == ""
