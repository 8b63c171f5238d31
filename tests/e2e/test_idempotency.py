"""Request ids through the public APIs: replays, reuse, and restarts."""

from __future__ import annotations

import pytest

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.support.bank import (
    close_account,
    czk,
    latest_sequence,
    new_request_id,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("status", ["frozen", "closed"])
def test_replay_after_status_change_returns_first_result(bank, status):
    account = bank.open_account()
    request = txn.DepositRequest(
        request_id=new_request_id("deposit"),
        account_id=account.account_id,
        amount=czk(300),
    )
    first = bank.transactions.Deposit(request, timeout=10)
    if status == "frozen":
        changed = bank.set_status(
            bank.ledger_account(account.account_id), pb.ACCOUNT_STATUS_FROZEN
        )
    else:
        bank.withdraw(account.account_id, 300)
        changed = close_account(bank, bank.ledger_account(account.account_id))
    bank.get_account(account.account_id, changed.commit_sequence)
    before = latest_sequence(bank)

    request.min_sequence = changed.commit_sequence
    replay = bank.transactions.Deposit(request, timeout=10)

    assert replay == first
    assert latest_sequence(bank) == before
    assert bank.ledger_account(account.account_id) == changed.account
