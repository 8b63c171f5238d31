"""TransactionService postings: deposit, withdraw, transfer, import, reverse."""

import grpc
import pytest

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.contract.client import TIMEOUT, fails, money, request_id

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def entry_amounts(transaction: pb.Transaction) -> dict[int, int]:
    return {e.account_id: e.amount.minor_units for e in transaction.entries}


def test_deposit_credits_account_against_bank_cash(api):
    account = api.account()

    response = api.deposit(account.account_id, 12_550, description="salary")
    transaction = response.transaction
    amounts = entry_amounts(transaction)

    assert transaction.kind == pb.TRANSACTION_KIND_DEPOSIT
    assert transaction.amount == money(12_550)
    assert transaction.description == "salary"
    assert len(transaction.entries) == 2
    assert amounts[account.account_id] == 12_550
    assert sum(amounts.values()) == 0
    assert response.commit_sequence >= transaction.change_sequence
    assert api.get_account(account.account_id, response.commit_sequence).balance == (
        money(12_550)
    )


def test_entries_carry_balance_after(api):
    account = api.account()
    api.deposit(account.account_id, 1_000)

    second = api.deposit(account.account_id, 250).transaction

    own = [e for e in second.entries if e.account_id == account.account_id]
    assert own[0].balance_after == money(1_250)


def test_deposit_with_counterparty_is_incoming_payment(api):
    account = api.account()
    sender = pb.Counterparty(bank_code="0800", account_number="19-2000145399")

    transaction = api.deposit(account.account_id, 700, counterparty=sender).transaction

    assert transaction.kind == pb.TRANSACTION_KIND_INCOMING_PAYMENT
    assert transaction.counterparty == sender


def test_withdraw_within_overdraft(api):
    account = api.account(overdraft=5_000)
    api.deposit(account.account_id, 1_000)

    response = api.withdraw(account.account_id, 6_000)

    assert response.transaction.kind == pb.TRANSACTION_KIND_WITHDRAWAL
    assert entry_amounts(response.transaction)[account.account_id] == -6_000
    balance = api.get_account(account.account_id, response.commit_sequence).balance
    assert balance == money(-5_000)


def test_withdraw_beyond_overdraft_changes_nothing(api):
    account = api.account(overdraft=5_000)
    funded = api.deposit(account.account_id, 1_000)

    failure = fails(
        api.transactions.Withdraw, api.withdraw_request(account.account_id, 6_001)
    )

    assert failure.code == PRECONDITION
    assert failure.reason == "INSUFFICIENT_FUNDS"
    assert failure.metadata["available"] == "6000"
    assert failure.metadata["requested"] == "6001"
    balance = api.get_account(account.account_id, funded.commit_sequence).balance
    assert balance == money(1_000)


def test_withdraw_with_counterparty_is_outgoing_payment(api):
    account = api.account()
    api.deposit(account.account_id, 900)
    payee = pb.Counterparty(bank_code="0300", account_number="123456789")

    transaction = api.withdraw(account.account_id, 900, counterparty=payee).transaction

    assert transaction.kind == pb.TRANSACTION_KIND_OUTGOING_PAYMENT
    assert transaction.counterparty == payee


def test_transfer_moves_money_between_accounts(api):
    source, destination = api.account(), api.account()
    api.deposit(source.account_id, 10_000)

    response = api.transfer(source.account_id, destination.account_id, 2_500)

    assert response.transaction.kind == pb.TRANSACTION_KIND_TRANSFER
    assert entry_amounts(response.transaction) == {
        source.account_id: -2_500,
        destination.account_id: 2_500,
    }
    after = response.commit_sequence
    assert api.get_account(source.account_id, after).balance == money(7_500)
    assert api.get_account(destination.account_id, after).balance == money(2_500)


def test_transfer_failures(api):
    source, destination = api.account(), api.account()
    euro = api.account(currency="EUR")
    api.deposit(source.account_id, 1_000)
    cases = [
        (
            destination.account_id,
            source.account_id,
            1,
            PRECONDITION,
            "INSUFFICIENT_FUNDS",
        ),
        (source.account_id, source.account_id, 1, INVALID, "SAME_ACCOUNT"),
        (source.account_id, euro.account_id, 1, PRECONDITION, "CURRENCY_MISMATCH"),
        (
            source.account_id,
            10**12,
            1,
            grpc.StatusCode.NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
        ),
        (source.account_id, 0, 1, INVALID, "INVALID_ID"),
        (source.account_id, destination.account_id, 0, INVALID, "INVALID_AMOUNT"),
    ]

    for from_id, to_id, amount, code, reason in cases:
        failure = fails(
            api.transactions.Transfer, api.transfer_request(from_id, to_id, amount)
        )
        assert failure.code == code, reason
        assert failure.reason == reason


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        (0, "CZK", "INVALID_AMOUNT"),
        (-100, "CZK", "INVALID_AMOUNT"),
        (10**15 + 1, "CZK", "AMOUNT_TOO_LARGE"),
        (100, "", "MISSING_FIELD"),
        (100, "czk", "INVALID_CURRENCY"),
        (100, "XXX", "UNKNOWN_CURRENCY"),
    ],
)
def test_deposit_rejects_invalid_amount(api, amount, currency, reason):
    account = api.account()

    failure = fails(
        api.transactions.Deposit,
        api.deposit_request(account.account_id, amount, currency),
    )

    assert failure.code == INVALID
    assert failure.reason == reason
    assert failure.metadata["field"].startswith("amount.")


def test_posting_field_checks(api):
    account = api.account()
    cases = [
        (
            api.deposit_request(account.account_id, 5, description="d" * 201),
            "FIELD_TOO_LONG",
        ),
        (
            api.deposit_request(account.account_id, 5, request_id=""),
            "MISSING_REQUEST_ID",
        ),
        (
            api.deposit_request(account.account_id, 5, request_id="has space"),
            "INVALID_REQUEST_ID",
        ),
        (
            api.deposit_request(account.account_id, 5, request_id="r" * 129),
            "INVALID_REQUEST_ID",
        ),
        (api.deposit_request(0, 5), "INVALID_ID"),
    ]

    for request, reason in cases:
        failure = fails(api.transactions.Deposit, request)
        assert failure.code == INVALID, reason
        assert failure.reason == reason


def test_posting_to_wrong_currency_fails(api):
    account = api.account(currency="EUR")

    failure = fails(
        api.transactions.Deposit, api.deposit_request(account.account_id, 100, "CZK")
    )

    assert failure.code == PRECONDITION
    assert failure.reason == "CURRENCY_MISMATCH"
    assert failure.metadata["account_currency"] == "EUR"


def test_posting_to_unknown_account_fails(api):
    failure = fails(api.transactions.Deposit, api.deposit_request(10**12, 100))

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "ACCOUNT_NOT_FOUND"


def test_frozen_account_rejects_postings(api):
    account = api.account()
    api.deposit(account.account_id, 1_000)
    frozen = api.set_status(account, pb.ACCOUNT_STATUS_FROZEN)
    # min_sequence makes the transaction service judge the account as of
    # the freeze, which the account service committed a moment ago.
    after = frozen.commit_sequence
    other = api.account()
    requests = [
        (
            api.transactions.Deposit,
            api.deposit_request(account.account_id, 1, min_sequence=after),
        ),
        (
            api.transactions.Withdraw,
            api.withdraw_request(account.account_id, 1, min_sequence=after),
        ),
        (
            api.transactions.Transfer,
            api.transfer_request(
                account.account_id, other.account_id, 1, min_sequence=after
            ),
        ),
        (
            api.transactions.Transfer,
            api.transfer_request(
                other.account_id, account.account_id, 1, min_sequence=after
            ),
        ),
    ]

    for call, request in requests:
        failure = fails(call, request)
        assert failure.code == PRECONDITION
        assert failure.reason == "ACCOUNT_FROZEN"
        assert str(account.account_id) in failure.message

    active = api.set_status(frozen.account, pb.ACCOUNT_STATUS_ACTIVE)
    api.deposit(account.account_id, 1, min_sequence=active.commit_sequence)


def test_closed_account_rejects_postings(api):
    account = api.account()
    closed = api.close_account(account)

    failure = fails(
        api.transactions.Deposit,
        api.deposit_request(account.account_id, 1, min_sequence=closed.commit_sequence),
    )

    assert failure.code == PRECONDITION
    assert failure.reason == "ACCOUNT_CLOSED"


def test_bank_account_rejects_postings(api):
    internal = api.internal_account()

    failure = fails(
        api.transactions.Deposit,
        api.deposit_request(internal.account_id, 1, internal.currency_code),
    )

    assert failure.code == PRECONDITION
    assert failure.reason == "INTERNAL_ACCOUNT"


def test_import_records_history_as_given(api):
    account = api.account(overdraft=0)
    ref = request_id("berka")

    response = api.transactions.ImportTransaction(
        api.import_request(
            account.account_id,
            pb.TRANSACTION_KIND_WITHDRAWAL,
            3_000,
            "1995-03-31",
            external_ref=ref,
            description="historic cash withdrawal",
        ),
        timeout=TIMEOUT,
    )
    transaction = response.transaction
    by_ref = api.transactions.GetTransaction(
        txn.GetTransactionRequest(external_ref=ref), timeout=TIMEOUT
    ).transaction

    # Imported history skips the overdraft check.
    assert entry_amounts(transaction)[account.account_id] == -3_000
    assert transaction.imported
    assert transaction.value_date == "1995-03-31"
    assert transaction.external_ref == ref
    assert by_ref == transaction


def test_import_rejections(api):
    account = api.account()
    taken = request_id("berka")
    api.transactions.ImportTransaction(
        api.import_request(
            account.account_id,
            pb.TRANSACTION_KIND_DEPOSIT,
            10,
            "1995-01-01",
            external_ref=taken,
        ),
        timeout=TIMEOUT,
    )
    kind_deposit = pb.TRANSACTION_KIND_DEPOSIT
    cases = [
        (
            api.import_request(
                account.account_id, pb.TRANSACTION_KIND_TRANSFER, 10, "1995-01-01"
            ),
            INVALID,
            "INVALID_ENUM",
        ),
        (
            api.import_request(
                account.account_id, pb.TRANSACTION_KIND_REVERSAL, 10, "1995-01-01"
            ),
            INVALID,
            "INVALID_ENUM",
        ),
        (
            api.import_request(account.account_id, kind_deposit, 10, ""),
            INVALID,
            "MISSING_FIELD",
        ),
        (
            api.import_request(
                account.account_id, kind_deposit, 10, "1995-01-01", external_ref=""
            ),
            INVALID,
            "MISSING_FIELD",
        ),
        (
            api.import_request(account.account_id, kind_deposit, 10, "31.1.1995"),
            INVALID,
            "INVALID_DATE",
        ),
        (
            api.import_request(
                account.account_id, kind_deposit, 10, "1995-01-02", external_ref=taken
            ),
            grpc.StatusCode.ALREADY_EXISTS,
            "EXTERNAL_REF_TAKEN",
        ),
    ]

    for request, code, reason in cases:
        failure = fails(api.transactions.ImportTransaction, request)
        assert failure.code == code, reason
        assert failure.reason == reason


def test_reverse_transaction_restores_balances(api):
    source, destination = api.account(), api.account()
    api.deposit(source.account_id, 5_000)
    original = api.transfer(source.account_id, destination.account_id, 2_000)

    response = api.transactions.ReverseTransaction(
        txn.ReverseTransactionRequest(
            request_id=request_id("reverse"),
            transaction_id=original.transaction.transaction_id,
        ),
        timeout=TIMEOUT,
    )
    reversal = response.transaction

    assert reversal.kind == pb.TRANSACTION_KIND_REVERSAL
    assert reversal.reverses_transaction_id == original.transaction.transaction_id
    assert entry_amounts(reversal) == {
        account_id: -amount
        for account_id, amount in entry_amounts(original.transaction).items()
    }
    after = response.commit_sequence
    assert api.get_account(source.account_id, after).balance == money(5_000)
    assert api.get_account(destination.account_id, after).balance == money(0)


def test_reverse_transaction_failures(api):
    account = api.account()
    first = api.deposit(account.account_id, 800).transaction
    second = api.deposit(account.account_id, 300).transaction
    reversal = api.transactions.ReverseTransaction(
        txn.ReverseTransactionRequest(
            request_id=request_id("reverse"), transaction_id=first.transaction_id
        ),
        timeout=TIMEOUT,
    ).transaction
    # 50 is left after this, so reversing the 300 deposit would overdraw.
    api.withdraw(account.account_id, 250)
    cases = [
        (first.transaction_id, PRECONDITION, "ALREADY_REVERSED"),
        (reversal.transaction_id, PRECONDITION, "CANNOT_REVERSE_REVERSAL"),
        (second.transaction_id, PRECONDITION, "INSUFFICIENT_FUNDS"),
        (10**12, grpc.StatusCode.NOT_FOUND, "TRANSACTION_NOT_FOUND"),
        (0, INVALID, "INVALID_ID"),
    ]

    for transaction_id, code, reason in cases:
        failure = fails(
            api.transactions.ReverseTransaction,
            txn.ReverseTransactionRequest(
                request_id=request_id("reverse"), transaction_id=transaction_id
            ),
        )
        assert failure.code == code, reason
        assert failure.reason == reason


def test_transaction_service_status_reports_feed(api):
    posted = api.deposit(api.account().account_id, 10)

    status = api.transactions.GetServiceStatus(
        txn.GetServiceStatusRequest(), timeout=TIMEOUT
    )

    assert status.feed_connected
    assert status.ledger_sequence >= status.applied_sequence
    assert status.lag == status.ledger_sequence - status.applied_sequence
    assert status.view_accounts > 0
    assert posted.commit_sequence > 0
