"""Request ids through the public APIs: replays, reuse, and restarts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank_common.stack import LocalStack
from tests.support.bank import (
    Bank,
    close_account,
    czk,
    latest_sequence,
    new_request_id,
    reason_of,
    rpc_error,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("status", ["frozen", "closed"])
def test_replay_after_status_change(bank, status):
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


def test_posting_replays_return_first_result_once(bank):
    source = bank.open_account()
    destination = bank.open_account()
    deposit_id = new_request_id("deposit")
    withdraw_id = new_request_id("withdraw")
    transfer_id = new_request_id("transfer")
    first = [
        bank.deposit(source.account_id, 1_000, request_id=deposit_id),
        bank.withdraw(source.account_id, 100, request_id=withdraw_id),
        bank.transfer(
            source.account_id, destination.account_id, 300, request_id=transfer_id
        ),
    ]
    before = latest_sequence(bank)

    replays = [
        bank.deposit(source.account_id, 1_000, request_id=deposit_id),
        bank.withdraw(source.account_id, 100, request_id=withdraw_id),
        bank.transfer(
            source.account_id, destination.account_id, 300, request_id=transfer_id
        ),
    ]

    assert replays == first
    assert latest_sequence(bank) == before
    assert bank.ledger_account(source.account_id).balance == czk(600)
    assert bank.ledger_account(destination.account_id).balance == czk(300)
    assert len(bank.statement(source.account_id)) == 3


def test_account_service_replays_return_first_result(bank):
    create = acc.CreateCustomerRequest(
        request_id=new_request_id("customer"),
        customer=pb.Customer(full_name="Replayed Customer"),
    )
    customer = bank.accounts.CreateCustomer(create, timeout=10)
    open_request = acc.OpenAccountRequest(
        request_id=new_request_id("open"),
        account=pb.Account(
            currency_code="CZK",
            type=pb.ACCOUNT_TYPE_CHECKING,
            holders=[
                pb.AccountHolder(
                    customer_id=customer.customer.customer_id,
                    role=pb.HOLDER_ROLE_OWNER,
                )
            ],
        ),
    )
    opened = bank.accounts.OpenAccount(open_request, timeout=10)
    update = acc.UpdateAccountRequest(
        request_id=new_request_id("update"),
        account=pb.Account(account_id=opened.account.account_id, nickname="once"),
        update_mask=field_mask_pb2.FieldMask(paths=["nickname"]),
        expected_version=opened.account.version,
    )
    updated = bank.accounts.UpdateAccount(update, timeout=10)
    before = latest_sequence(bank)

    assert bank.accounts.CreateCustomer(create, timeout=10) == customer
    assert bank.accounts.OpenAccount(open_request, timeout=10) == opened
    assert bank.accounts.UpdateAccount(update, timeout=10) == updated
    assert latest_sequence(bank) == before
    listed = bank.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=customer.customer.customer_id), timeout=10
    ).accounts
    assert [a.account_id for a in listed] == [opened.account.account_id]
    assert listed[0].version == updated.account.version


@pytest.mark.parametrize(
    "second",
    ["other-amount", "other-account", "withdraw", "create-customer"],
)
def test_reused_request_id_is_rejected(bank, second):
    account = bank.open_account()
    other = bank.open_account()
    request_id = new_request_id("reused")
    first = bank.deposit(account.account_id, 500, request_id=request_id)
    before = latest_sequence(bank)
    calls = {
        "other-amount": lambda: bank.deposit(
            account.account_id, 501, request_id=request_id
        ),
        "other-account": lambda: bank.deposit(
            other.account_id, 500, request_id=request_id
        ),
        "withdraw": lambda: bank.withdraw(
            account.account_id, 500, request_id=request_id
        ),
        "create-customer": lambda: bank.accounts.CreateCustomer(
            acc.CreateCustomerRequest(
                request_id=request_id, customer=pb.Customer(full_name="Reuser")
            ),
            timeout=10,
        ),
    }

    error = rpc_error(calls[second])

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason_of(error) == "REQUEST_ID_REUSED"
    assert request_id in error.details()
    assert latest_sequence(bank) == before
    assert bank.deposit(account.account_id, 500, request_id=request_id) == first


def test_rejected_request_id_can_be_retried(bank):
    source = bank.open_account()
    destination = bank.open_account()
    request_id = new_request_id("retry")

    error = rpc_error(
        lambda: bank.transfer(
            source.account_id, destination.account_id, 700, request_id=request_id
        )
    )
    bank.deposit(source.account_id, 700)
    moved = bank.transfer(
        source.account_id, destination.account_id, 700, request_id=request_id
    )

    assert reason_of(error) == "INSUFFICIENT_FUNDS"
    assert moved.transaction.amount == czk(700)
    assert bank.ledger_account(destination.account_id).balance == czk(700)


def test_concurrent_replays_post_once(bank):
    source = bank.open_account()
    destination = bank.open_account()
    bank.deposit(source.account_id, 10_000)
    request_id = new_request_id("concurrent")

    def send(_: int):
        return bank.transfer(
            source.account_id, destination.account_id, 1_000, request_id=request_id
        )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(16)))

    assert all(response == responses[0] for response in responses)
    assert bank.ledger_account(source.account_id).balance == czk(9_000)
    assert len(bank.statement(destination.account_id)) == 1


def start_stack(folder: Path) -> LocalStack:
    """Start a stack whose front ends give up on the ledger store after 2 s."""
    stack = LocalStack(
        db_path=folder / "ledger.duckdb",
        log_dir=folder / "logs",
        extra_args={
            "accounts": ["--ledger-timeout", "2"],
            "transactions": ["--ledger-timeout", "2"],
        },
    )
    stack.start_all()
    return stack


def wait_for_feed(bank: Bank, timeout: float = 30.0) -> None:
    """Wait until both front ends follow the ledger store's change feed again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accounts = bank.accounts.GetServiceStatus(
            acc.GetServiceStatusRequest(), timeout=5
        )
        transactions = bank.transactions.GetServiceStatus(
            txn.GetServiceStatusRequest(), timeout=5
        )
        if accounts.feed_connected and transactions.feed_connected:
            return
        time.sleep(0.1)
    raise AssertionError(f"the front ends did not reconnect in {timeout}s")


def test_replay_after_ledger_store_restart(tmp_path):
    stack = start_stack(tmp_path)
    bank = Bank.for_stack(stack)
    try:
        source = bank.open_account()
        destination = bank.open_account()
        bank.deposit(source.account_id, 5_000)
        request_id = new_request_id("restart")
        first = bank.transfer(
            source.account_id, destination.account_id, 1_200, request_id=request_id
        )

        assert stack.stop("ledger") == 0
        down = rpc_error(lambda: bank.deposit(source.account_id, 1))
        stack.start("ledger")
        wait_for_feed(bank)
        before = latest_sequence(bank)

        replay = bank.transfer(
            source.account_id, destination.account_id, 1_200, request_id=request_id
        )
        mismatch = rpc_error(
            lambda: bank.transfer(
                source.account_id, destination.account_id, 1_201, request_id=request_id
            )
        )
        after_replays = latest_sequence(bank)
        later = bank.deposit(source.account_id, 1)
    finally:
        bank.close()
        stack.stop_all()

    assert down.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(down) == "LEDGER_STORE_UNAVAILABLE"
    assert replay == first
    assert mismatch.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason_of(mismatch) == "REQUEST_ID_REUSED"
    assert after_replays == before
    assert later.transaction.transaction_id == first.transaction.transaction_id + 1
    assert later.transaction.change_sequence == before + 1
