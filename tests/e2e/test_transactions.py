"""Postings and statements through the transaction service's generated stubs."""

from __future__ import annotations

import grpc
import pytest

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.support.bank import (
    czk,
    ledger_accounts,
    new_request_id,
    reason_of,
    rpc_error,
)

pytestmark = pytest.mark.e2e


def bank_account_id(bank, purpose: str, currency: str = "CZK") -> int:
    """Return the id of the bank's own account named "bank <purpose> <currency>"."""
    nickname = f"bank {purpose} {currency}"
    for account in ledger_accounts(bank):
        if account.nickname == nickname:
            return account.account_id
    raise AssertionError(f"no bank account {nickname!r}")


def entries_by_account(transaction: pb.Transaction) -> dict[int, int]:
    return {e.account_id: e.amount.minor_units for e in transaction.entries}


def test_deposit_credits_account_from_bank_cash(bank):
    account = bank.open_account()
    cash = bank_account_id(bank, "cash")
    cash_before = bank.ledger_account(cash).balance.minor_units

    response = bank.deposit(account.account_id, 12_550)
    transaction = response.transaction

    assert transaction.kind == pb.TRANSACTION_KIND_DEPOSIT
    assert transaction.amount == czk(12_550)
    assert entries_by_account(transaction) == {
        account.account_id: 12_550,
        cash: -12_550,
    }
    assert transaction.value_date
    assert transaction.change_sequence <= response.commit_sequence
    assert bank.ledger_account(account.account_id).balance == czk(12_550)
    assert bank.ledger_account(cash).balance.minor_units == cash_before - 12_550


def test_deposit_with_counterparty_is_incoming_payment(bank):
    account = bank.open_account()
    clearing = bank_account_id(bank, "clearing")
    payer = pb.Counterparty(bank_code="0800", account_number="19-2000145399")

    transaction = bank.transactions.Deposit(
        txn.DepositRequest(
            request_id=new_request_id("incoming"),
            account_id=account.account_id,
            amount=czk(3_000),
            description="salary",
            counterparty=payer,
        ),
        timeout=10,
    ).transaction

    assert transaction.kind == pb.TRANSACTION_KIND_INCOMING_PAYMENT
    assert transaction.counterparty == payer
    assert transaction.description == "salary"
    assert entries_by_account(transaction) == {
        account.account_id: 3_000,
        clearing: -3_000,
    }


def test_withdraw_debits_account_into_bank_cash(bank):
    account = bank.open_account()
    cash = bank_account_id(bank, "cash")
    bank.deposit(account.account_id, 1_000)

    transaction = bank.withdraw(account.account_id, 400).transaction

    assert transaction.kind == pb.TRANSACTION_KIND_WITHDRAWAL
    assert entries_by_account(transaction) == {account.account_id: -400, cash: 400}
    assert bank.ledger_account(account.account_id).balance == czk(600)


def test_withdraw_with_counterparty_is_outgoing_payment(bank):
    account = bank.open_account(overdraft=5_000)
    payee = pb.Counterparty(bank_code="0300", account_number="123456789")

    transaction = bank.withdraw(
        account.account_id, 2_000, counterparty=payee
    ).transaction

    assert transaction.kind == pb.TRANSACTION_KIND_OUTGOING_PAYMENT
    assert transaction.counterparty == payee
    assert bank.ledger_account(account.account_id).balance == czk(-2_000)


def test_withdraw_uses_overdraft_to_limit(bank):
    account = bank.open_account(overdraft=1_000)
    bank.deposit(account.account_id, 500)

    bank.withdraw(account.account_id, 1_500)
    error = rpc_error(lambda: bank.withdraw(account.account_id, 1))

    assert bank.ledger_account(account.account_id).balance == czk(-1_000)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "INSUFFICIENT_FUNDS"
    assert bank.ledger_account(account.account_id).balance == czk(-1_000)


def test_import_skips_overdraft_check(bank):
    account = bank.open_account(overdraft=0)
    fees = bank_account_id(bank, "fees")

    response = bank.transactions.ImportTransaction(
        txn.ImportTransactionRequest(
            request_id=new_request_id("import"),
            kind=pb.TRANSACTION_KIND_FEE,
            account_id=account.account_id,
            amount=czk(1_500),
            description="penalty interest",
            value_date="1995-03-31",
            external_ref="test:import:1",
        ),
        timeout=10,
    )
    transaction = response.transaction

    assert transaction.imported
    assert transaction.kind == pb.TRANSACTION_KIND_FEE
    assert transaction.value_date == "1995-03-31"
    assert transaction.external_ref == "test:import:1"
    assert entries_by_account(transaction) == {account.account_id: -1_500, fees: 1_500}
    assert bank.ledger_account(account.account_id).balance == czk(-1_500)


def test_get_transaction_by_id_and_reference(bank):
    account = bank.open_account()
    imported = bank.transactions.ImportTransaction(
        txn.ImportTransactionRequest(
            request_id=new_request_id("import"),
            kind=pb.TRANSACTION_KIND_INTEREST,
            account_id=account.account_id,
            amount=czk(77),
            value_date="1995-06-30",
            external_ref="test:import:interest",
        ),
        timeout=10,
    )

    by_id = bank.transactions.GetTransaction(
        txn.GetTransactionRequest(
            transaction_id=imported.transaction.transaction_id,
            min_sequence=imported.commit_sequence,
        ),
        timeout=10,
    )
    by_ref = bank.transactions.GetTransaction(
        txn.GetTransactionRequest(external_ref="test:import:interest"), timeout=10
    )

    assert by_id.transaction == imported.transaction
    assert by_ref.transaction == imported.transaction


def test_reverse_transaction_restores_balances(bank):
    source = bank.open_account()
    destination = bank.open_account()
    bank.deposit(source.account_id, 1_000)
    moved = bank.transfer(source.account_id, destination.account_id, 600)

    reversal = bank.transactions.ReverseTransaction(
        txn.ReverseTransactionRequest(
            request_id=new_request_id("reverse"),
            transaction_id=moved.transaction.transaction_id,
        ),
        timeout=10,
    ).transaction

    assert reversal.kind == pb.TRANSACTION_KIND_REVERSAL
    assert reversal.reverses_transaction_id == moved.transaction.transaction_id
    assert entries_by_account(reversal) == {
        source.account_id: 600,
        destination.account_id: -600,
    }
    assert "reversal" in reversal.description
    assert bank.ledger_account(source.account_id).balance == czk(1_000)
    assert bank.ledger_account(destination.account_id).balance == czk(0)


def test_statement_pages_to_the_end(bank):
    account = bank.open_account(overdraft=10_000)
    amounts = [500, -200, 1_000, -3_000, 50, -50, 700]
    for amount in amounts:
        if amount > 0:
            bank.deposit(account.account_id, amount)
        else:
            bank.withdraw(account.account_id, -amount)

    lines: list[pb.StatementLine] = []
    token = ""
    pages = 0
    while True:
        page = bank.transactions.ListStatement(
            txn.ListStatementRequest(
                account_id=account.account_id, page_size=3, page_token=token
            ),
            timeout=10,
        )
        pages += 1
        assert len(page.lines) <= 3
        lines.extend(page.lines)
        token = page.next_page_token
        if not token:
            break

    assert pages == 3
    assert [line.amount.minor_units for line in lines] == amounts
    running = 0
    for line in lines:
        running += line.amount.minor_units
        assert line.balance_after.minor_units == running
    assert bank.ledger_account(account.account_id).balance == czk(running)
    assert [line.entry_id for line in lines] == sorted(line.entry_id for line in lines)


def test_statement_filters_by_value_date(bank):
    account = bank.open_account()
    for index, day in enumerate(["1995-01-10", "1995-02-10", "1995-03-10"]):
        bank.transactions.ImportTransaction(
            txn.ImportTransactionRequest(
                request_id=new_request_id("import"),
                kind=pb.TRANSACTION_KIND_DEPOSIT,
                account_id=account.account_id,
                amount=czk(100 + index),
                value_date=day,
                external_ref=f"test:dated:{account.account_id}:{index}",
            ),
            timeout=10,
        )

    page = bank.transactions.ListStatement(
        txn.ListStatementRequest(
            account_id=account.account_id,
            start_date="1995-02-01",
            end_date="1995-02-28",
        ),
        timeout=10,
    )

    assert [line.value_date for line in page.lines] == ["1995-02-10"]
    assert page.lines[0].amount == czk(101)
    assert page.next_page_token == ""


def test_watch_transactions_replays_from_sequence(bank):
    account = bank.open_account()
    first = bank.deposit(account.account_id, 10)
    second = bank.withdraw(account.account_id, 4)
    stream = bank.transactions.WatchTransactions(
        txn.WatchTransactionsRequest(
            account_id=account.account_id,
            after_sequence=first.transaction.change_sequence - 1,
        ),
        timeout=10,
    )
    try:
        received = [next(stream), next(stream)]
        third = bank.deposit(account.account_id, 1)
        received.append(next(stream))
    finally:
        stream.cancel()

    assert [r.transaction for r in received] == [
        first.transaction,
        second.transaction,
        third.transaction,
    ]
    assert [r.sequence for r in received] == [
        t.transaction.change_sequence for t in (first, second, third)
    ]


def test_transaction_service_status_follows_the_feed(bank):
    account = bank.open_account()
    posted = bank.deposit(account.account_id, 10)
    bank.transactions.GetTransaction(
        txn.GetTransactionRequest(
            transaction_id=posted.transaction.transaction_id,
            min_sequence=posted.commit_sequence,
        ),
        timeout=10,
    )

    status = bank.transactions.GetServiceStatus(
        txn.GetServiceStatusRequest(), timeout=10
    )

    assert status.feed_connected
    assert status.applied_sequence >= posted.commit_sequence
    assert status.ledger_sequence >= status.applied_sequence
    assert status.lag == status.ledger_sequence - status.applied_sequence
    assert status.view_accounts >= 1


def test_postings_keep_every_currency_balanced(bank):
    euro = bank.open_account(currency="EUR", overdraft=100)
    bank.deposit(euro.account_id, 900, currency="EUR")
    bank.withdraw(euro.account_id, 1_000, currency="EUR")

    totals: dict[str, int] = {}
    for account in ledger_accounts(bank):
        code = account.balance.currency_code
        totals[code] = totals.get(code, 0) + account.balance.minor_units

    assert totals
    assert all(total == 0 for total in totals.values()), totals
