"""Transfers through the transaction service, checked through both services."""

import grpc
import pytest

from tests.support.bank import reason_of


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
