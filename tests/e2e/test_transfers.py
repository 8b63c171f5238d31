"""Transfers through the transaction service, checked through both services."""

import grpc
import pytest

from bank.ledger.v1 import resources_pb2 as pb
from tests.support.bank import (
    close_account,
    czk,
    latest_sequence,
    reason_of,
    rpc_error,
)

pytestmark = pytest.mark.e2e


def test_transfer_moves_money_between_accounts(bank):
    source = bank.open_account()
    destination = bank.open_account()
    bank.deposit(source.account_id, 10_000)

    response = bank.transfer(source.account_id, destination.account_id, 2_500)

    assert (
        bank.get_account(
            source.account_id, response.commit_sequence
        ).balance.minor_units
        == 7_500
    )
    assert (
        bank.get_account(
            destination.account_id, response.commit_sequence
        ).balance.minor_units
        == 2_500
    )


def test_transfer_rejects_overdraft_and_changes_nothing(bank):
    source = bank.open_account(overdraft=1_000)
    destination = bank.open_account()
    bank.deposit(source.account_id, 500)

    with pytest.raises(grpc.RpcError) as failure:
        bank.transfer(source.account_id, destination.account_id, 1_501)

    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(failure.value) == "INSUFFICIENT_FUNDS"
    assert bank.ledger_account(source.account_id).balance.minor_units == 500
    assert bank.ledger_account(destination.account_id).balance.minor_units == 0


def test_transfer_posts_one_balanced_transaction(bank):
    source = bank.open_account()
    destination = bank.open_account()
    bank.deposit(source.account_id, 1_000)

    transaction = bank.transfer(
        source.account_id, destination.account_id, 400, description="rent"
    ).transaction

    assert transaction.kind == pb.TRANSACTION_KIND_TRANSFER
    assert transaction.amount == czk(400)
    assert [(e.account_id, e.amount.minor_units) for e in transaction.entries] == [
        (source.account_id, -400),
        (destination.account_id, 400),
    ]
    assert [e.balance_after.minor_units for e in transaction.entries] == [600, 400]
    source_line = bank.statement(source.account_id)[-1]
    destination_line = bank.statement(destination.account_id)[-1]
    assert source_line.transaction_id == transaction.transaction_id
    assert destination_line.transaction_id == transaction.transaction_id
    assert source_line.counter_account_id == destination.account_id
    assert destination_line.counter_account_id == source.account_id
    assert destination_line.description == "rent"


def blocked_destination(bank, blocker: str) -> int:
    """Return the id of a CZK account that cannot receive a transfer."""
    if blocker == "missing":
        return 10**12
    account = bank.open_account()
    if blocker == "frozen":
        bank.set_status(account, pb.ACCOUNT_STATUS_FROZEN)
    if blocker == "closed":
        close_account(bank, account)
    if blocker == "euro":
        return bank.open_account(currency="EUR").account_id
    return account.account_id


@pytest.mark.parametrize(
    ("blocker", "code", "reason"),
    [
        ("frozen", grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_FROZEN"),
        ("closed", grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_CLOSED"),
        ("euro", grpc.StatusCode.FAILED_PRECONDITION, "CURRENCY_MISMATCH"),
        ("missing", grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND"),
    ],
)
def test_failed_transfer_changes_neither_account(bank, blocker, code, reason):
    source = bank.open_account()
    bank.deposit(source.account_id, 1_000)
    destination = blocked_destination(bank, blocker)
    before = latest_sequence(bank)

    error = rpc_error(lambda: bank.transfer(source.account_id, destination, 300))

    assert error.code() == code
    assert reason_of(error) == reason
    assert str(destination) in error.details()
    assert bank.ledger_account(source.account_id).balance == czk(1_000)
    assert len(bank.statement(source.account_id)) == 1
    assert latest_sequence(bank) == before


@pytest.mark.parametrize("currency", ["CZK", "EUR"])
def test_transfer_across_currencies_names_both(bank, currency):
    source = bank.open_account()
    bank.deposit(source.account_id, 1_000)
    euro = bank.open_account(currency="EUR")

    error = rpc_error(
        lambda: bank.transfer(
            source.account_id, euro.account_id, 300, currency=currency
        )
    )

    assert reason_of(error) == "CURRENCY_MISMATCH"
    assert f"source account {source.account_id} is in CZK" in error.details()
    assert f"destination account {euro.account_id} is in EUR" in error.details()
    assert bank.ledger_account(source.account_id).balance == czk(1_000)
