"""The watch streams: AccountService.WatchAccount and
TransactionService.WatchTransactions."""

import queue
import threading

import grpc
import pytest

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.contract.client import failure_of, money

STREAM_TIMEOUT = 20.0
"""Deadline of each watch stream in seconds; a missing message fails by then."""


@pytest.fixture
def open_streams():
    """Cancel every stream a test opened, whatever its outcome."""
    streams: list = []
    yield streams
    for stream in streams:
        stream.cancel()


def watch_account(api, open_streams, account_id: int):
    stream = api.accounts.WatchAccount(
        acc.WatchAccountRequest(account_id=account_id), timeout=STREAM_TIMEOUT
    )
    open_streams.append(stream)
    return stream


def watch_transactions(api, open_streams, account_id: int, **fields):
    stream = api.transactions.WatchTransactions(
        txn.WatchTransactionsRequest(account_id=account_id, **fields),
        timeout=STREAM_TIMEOUT,
    )
    open_streams.append(stream)
    return stream


def stream_failure(stream):
    with pytest.raises(grpc.RpcError) as raised:
        next(stream)
    return failure_of(raised.value)


def test_watch_account_sends_state_then_changes(api, open_streams):
    account = api.account(overdraft=0)
    stream = watch_account(api, open_streams, account.account_id)

    first = next(stream)
    deposit = api.deposit(account.account_id, 700)
    balance = next(stream)
    frozen = api.set_status(account, pb.ACCOUNT_STATUS_FROZEN)
    freeze = next(stream)

    assert first.change_kind == pb.CHANGE_KIND_UNSPECIFIED
    assert first.account == account
    assert first.sequence == account.change_sequence
    assert balance.change_kind == pb.CHANGE_KIND_BALANCE_CHANGED
    assert balance.account.balance == money(700)
    assert first.sequence < balance.sequence <= deposit.commit_sequence
    assert freeze.change_kind == pb.CHANGE_KIND_UPDATED
    assert freeze.account.status == pb.ACCOUNT_STATUS_FROZEN
    assert freeze.sequence == frozen.commit_sequence


def test_watch_account_reports_closing(api, open_streams):
    account = api.account()
    stream = watch_account(api, open_streams, account.account_id)
    next(stream)

    closed = api.close_account(account)
    message = next(stream)

    assert message.change_kind == pb.CHANGE_KIND_CLOSED
    assert message.account.status == pb.ACCOUNT_STATUS_CLOSED
    assert message.sequence == closed.commit_sequence


def test_watch_account_ignores_other_accounts(api, open_streams):
    watched, other = api.account(), api.account()
    stream = watch_account(api, open_streams, watched.account_id)
    next(stream)

    api.deposit(other.account_id, 5)
    api.update_account(other, ["nickname"], nickname="not watched")
    api.deposit(watched.account_id, 6)
    message = next(stream)

    assert message.account.account_id == watched.account_id
    assert message.account.balance == money(6)


def test_watch_account_errors(api, open_streams):
    invalid = stream_failure(watch_account(api, open_streams, 0))
    unknown = stream_failure(watch_account(api, open_streams, 10**12))

    assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
    assert invalid.reason == "INVALID_ID"
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    assert unknown.reason == "ACCOUNT_NOT_FOUND"


def test_watch_transactions_replays_after_sequence(api, open_streams):
    account, other = api.account(overdraft=10_000), api.account()
    deposit = api.deposit(account.account_id, 1_000).transaction
    withdrawal = api.withdraw(account.account_id, 300).transaction
    stream = watch_transactions(
        api, open_streams, account.account_id, after_sequence=account.change_sequence
    )

    replayed = [next(stream), next(stream)]
    api.deposit(other.account_id, 5)
    incoming = api.transfer(other.account_id, account.account_id, 5).transaction
    live = next(stream)

    assert [m.transaction for m in replayed] == [deposit, withdrawal]
    assert [m.sequence for m in replayed] == [
        deposit.change_sequence,
        withdrawal.change_sequence,
    ]
    # The deposit to the other account has no entry here and is skipped.
    assert live.transaction == incoming
    assert live.sequence == incoming.change_sequence


def test_watch_transactions_starts_now(api, open_streams):
    account = api.account()
    earlier = api.deposit(account.account_id, 100).transaction
    stream = watch_transactions(api, open_streams, account.account_id)
    received: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for message in stream:
                received.put(message)
        except grpc.RpcError:
            pass

    threading.Thread(target=read, daemon=True).start()
    # The stream sends nothing until a transaction commits and the client
    # cannot tell when it has subscribed, so post until one arrives.
    posted: list[pb.Transaction] = []
    first = None
    for _ in range(20):
        posted.append(api.deposit(account.account_id, 1).transaction)
        try:
            first = received.get(timeout=0.5)
            break
        except queue.Empty:
            continue

    assert first is not None, "no transaction arrived on the stream"
    assert first.transaction != earlier
    assert first.transaction in posted


def test_watch_transactions_errors(api, open_streams):
    account = api.account()
    status = api.transactions.GetServiceStatus(
        txn.GetServiceStatusRequest(), timeout=10
    )
    future = status.ledger_sequence + 1_000_000

    invalid = stream_failure(watch_transactions(api, open_streams, 0))
    unknown = stream_failure(watch_transactions(api, open_streams, 10**12))
    ahead = stream_failure(
        watch_transactions(api, open_streams, account.account_id, after_sequence=future)
    )

    assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
    assert invalid.reason == "INVALID_ID"
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    assert unknown.reason == "ACCOUNT_NOT_FOUND"
    assert ahead.code == grpc.StatusCode.OUT_OF_RANGE
    assert ahead.reason == "SEQUENCE_OUT_OF_RANGE"
