"""The transaction service's early rejection, against a view that lags.

The servicer runs in this process with a real ledger store client, and its
account view is filled by hand, so the view can be made stale on purpose.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank_common import errors
from bank_common.feed_consumer import AccountView, FeedConsumer
from bank_common.ledger_client import LedgerClient
from tests.support.bank import latest_sequence, new_request_id
from transaction_service.servicer import TransactionServicer


async def _deposit_with_view(ledger_address: str, view_account: pb.Account, request):
    client = LedgerClient(ledger_address)
    feed = FeedConsumer(client, AccountView(), service="test")
    feed.currencies = frozenset({"CZK"})
    feed.view.put(view_account)
    servicer = TransactionServicer(client, feed, asyncio.Event(), read_wait=1)
    try:
        return await servicer.Deposit(request, None)
    finally:
        await client.close()


def deposit_with_view(bank, view_account: pb.Account, request):
    return asyncio.run(
        _deposit_with_view(bank.addresses["ledger"], view_account, request)
    )


def stale_copy(account: pb.Account, status: int) -> pb.Account:
    copy = pb.Account()
    copy.CopyFrom(account)
    copy.status = status
    return copy


def deposit_request(account_id: int, request_id: str | None = None):
    return txn.DepositRequest(
        request_id=request_id or new_request_id("deposit"),
        account_id=account_id,
        amount=pb.Money(currency_code="CZK", minor_units=100),
    )


def test_stale_frozen_view_does_not_reject(bank):
    account = bank.open_account()
    stale = stale_copy(
        bank.ledger_account(account.account_id), pb.ACCOUNT_STATUS_FROZEN
    )

    response = deposit_with_view(bank, stale, deposit_request(account.account_id))

    assert response.transaction.entries[0].balance_after.minor_units == 100


def test_frozen_view_and_ledger_reject_early(bank):
    account = bank.open_account()
    frozen = bank.set_status(account, pb.ACCOUNT_STATUS_FROZEN).account
    before = latest_sequence(bank)

    with pytest.raises(errors.AccountFrozen):
        deposit_with_view(bank, frozen, deposit_request(account.account_id))

    assert latest_sequence(bank) == before


def test_frozen_view_replays_committed_request(bank):
    account = bank.open_account()
    request = deposit_request(account.account_id)
    first = bank.transactions.Deposit(request, timeout=10)
    frozen = bank.set_status(
        bank.ledger_account(account.account_id), pb.ACCOUNT_STATUS_FROZEN
    ).account

    replay = deposit_with_view(bank, frozen, request)

    assert replay.transaction == first.transaction
    with pytest.raises(grpc.RpcError):
        bank.transactions.Deposit(deposit_request(account.account_id), timeout=10)
