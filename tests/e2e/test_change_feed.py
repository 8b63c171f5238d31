"""The change feed from the ledger store, and its use by the two services.

Subscribers read the ledger store's WatchChanges stream directly; the
propagation tests drive the account and transaction services.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank_common.stack import LocalStack
from tests.conftest import stack_logs
from tests.support.bank import Bank, reason_of
from tests.support.feed import Subscriber

GRPCURL = str(Path(sys.executable).parent / "grpcurl")


def latest_sequence(bank: Bank) -> int:
    return bank.ledger.GetLedgerInfo(
        store.GetLedgerInfoRequest(), timeout=5
    ).latest_sequence


def post_random(bank: Bank, accounts: list[pb.Account], count: int, seed: int) -> int:
    """Post deposits and transfers; return how many were acknowledged."""
    rng = random.Random(seed)
    acknowledged = 0
    for _ in range(count):
        source, destination = rng.sample(accounts, 2)
        try:
            if rng.random() < 0.3:
                bank.deposit(source.account_id, rng.randint(1, 5_000))
            else:
                bank.transfer(
                    source.account_id, destination.account_id, rng.randint(1, 3_000)
                )
            acknowledged += 1
        except grpc.RpcError as error:
            assert reason_of(error) == "INSUFFICIENT_FUNDS", error
    return acknowledged


def check_events_match_ledger(bank: Bank, events: list[pb.ChangeEvent]) -> None:
    """Check each event against the ledger store's current state."""
    last_transaction: pb.Transaction | None = None
    final_accounts: dict[int, pb.Account] = {}
    for event in events:
        if event.HasField("transaction"):
            last_transaction = event.transaction
            stored = bank.ledger.GetTransaction(
                store.GetTransactionRequest(transaction_id=event.entity_id), timeout=5
            ).transaction
            assert event.transaction == stored
        elif event.change_kind == pb.CHANGE_KIND_BALANCE_CHANGED:
            assert last_transaction is not None
            entry = next(
                e for e in last_transaction.entries if e.account_id == event.entity_id
            )
            assert event.account.balance == entry.balance_after
        if event.HasField("account"):
            final_accounts[event.entity_id] = event.account
    for account_id, account in final_accounts.items():
        assert account == bank.ledger_account(account_id)


def test_subscribers_receive_all_commits_in_order(bank):
    accounts = [bank.open_account(overdraft=10_000) for _ in range(6)]
    start = latest_sequence(bank)
    subscribers = [Subscriber(bank.addresses["ledger"], start) for _ in range(3)]
    writers = [
        threading.Thread(target=post_random, args=(bank, accounts, 60, seed))
        for seed in range(4)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    end = latest_sequence(bank)

    try:
        for subscriber in subscribers:
            subscriber.wait_for(end)
        expected = list(range(start + 1, end + 1))
        for subscriber in subscribers:
            assert subscriber.sequences() == expected
        assert [e.SerializeToString() for e in subscribers[0].events] == [
            e.SerializeToString() for e in subscribers[1].events
        ]
        check_events_match_ledger(bank, subscribers[0].events)
    finally:
        for subscriber in subscribers:
            subscriber.close()


def test_resume_delivers_exactly_missed_events(bank):
    accounts = [bank.open_account(overdraft=10_000) for _ in range(3)]
    start = latest_sequence(bank)
    reference = Subscriber(bank.addresses["ledger"], start)
    first = Subscriber(bank.addresses["ledger"], start)
    post_random(bank, accounts, 10, seed=1)
    middle = latest_sequence(bank)
    first.wait_for(middle)
    first.close()
    resume_after = first.sequences()[-1]

    post_random(bank, accounts, 10, seed=2)
    end = latest_sequence(bank)
    resumed = Subscriber(bank.addresses["ledger"], resume_after)
    try:
        resumed.wait_for(end)
        reference.wait_for(end)
        assert first.sequences() + resumed.sequences() == reference.sequences()
        assert resumed.sequences() == list(range(resume_after + 1, end + 1))
    finally:
        resumed.close()
        reference.close()


def test_resume_after_ledger_restart(tmp_path):
    stack = LocalStack(db_path=tmp_path / "ledger.duckdb", log_dir=tmp_path / "logs")
    stack.start_all()
    bank = Bank.for_stack(stack)
    try:
        accounts = [bank.open_account(overdraft=10_000) for _ in range(3)]
        start = latest_sequence(bank)
        before = Subscriber(stack.ports.address("ledger"), start)
        post_random(bank, accounts, 10, seed=3)
        before_end = latest_sequence(bank)
        before.wait_for(before_end)
        before.close()

        stack.stop("ledger")
        stack.start("ledger")
        post_random(bank, accounts, 10, seed=4)
        end = latest_sequence(bank)

        after = Subscriber(stack.ports.address("ledger"), before_end)
        after.wait_for(end)
        after.close()
        assert before.sequences() + after.sequences() == list(range(start + 1, end + 1))
        check_events_match_ledger(bank, before.events + after.events)
    except Exception:
        print(stack_logs(stack))
        raise
    finally:
        bank.close()
        stack.stop_all()


def test_stalled_subscriber_blocks_no_writes(tmp_path):
    # A buffer of 5 commits and a 64 KiB flow-control window make the stall
    # overflow the server's buffer, so the stream must catch up from the
    # change-log table.
    stack = LocalStack(
        db_path=tmp_path / "ledger.duckdb",
        log_dir=tmp_path / "logs",
        extra_args={"ledger": ["--feed-buffer", "5"]},
    )
    stack.start_all()
    bank = Bank.for_stack(stack)
    try:
        account = bank.open_account()
        start = latest_sequence(bank)
        slow = Subscriber(
            stack.ports.address("ledger"),
            start,
            channel_options=(("grpc.http2.bdp_probe", 0),),
        )
        slow.pause()
        started = time.monotonic()
        for _ in range(150):
            bank.deposit(account.account_id, 100)
        writing_took = time.monotonic() - started
        end = latest_sequence(bank)
        received_while_stalled = len(slow.sequences())
        time.sleep(max(0.0, 3.0 - writing_took))
        slow.resume()
        slow.wait_for(end)
        slow.close()

        assert received_while_stalled < end - start
        assert slow.sequences() == list(range(start + 1, end + 1))
        assert end - start == 450
        assert bank.ledger_account(account.account_id).balance.minor_units == 15_000
        print(f"150 deposits took {writing_took:.2f}s while the subscriber was stalled")
    finally:
        bank.close()
        stack.stop_all()


def test_pruned_start_sequence_out_of_range(tmp_path):
    stack = LocalStack(
        db_path=tmp_path / "ledger.duckdb",
        log_dir=tmp_path / "logs",
        extra_args={"ledger": ["--retention-hours", "0.0003"]},
    )
    stack.start("ledger")
    bank = Bank.connect("unused:1", "unused:1", stack.ports.address("ledger"))
    try:
        time.sleep(2.5)
        info = bank.ledger.GetLedgerInfo(store.GetLedgerInfoRequest(), timeout=5)
        assert info.oldest_retained_sequence == info.latest_sequence
        with pytest.raises(grpc.RpcError) as failure:
            next(
                iter(
                    bank.ledger.WatchChanges(
                        store.WatchChangesRequest(after_sequence=0), timeout=5
                    )
                )
            )
        assert failure.value.code() == grpc.StatusCode.OUT_OF_RANGE
        assert reason_of(failure.value) == "SEQUENCE_OUT_OF_RANGE"
        assert str(info.oldest_retained_sequence) in failure.value.details()
    finally:
        bank.close()
        stack.stop_all()


def test_freeze_stops_withdrawals_at_once(bank, stack):
    account = bank.open_account()
    bank.deposit(account.account_id, 10_000)

    frozen = bank.set_status(
        bank.get_account(account.account_id), pb.ACCOUNT_STATUS_FROZEN
    )
    rejected_id = f"frozen-withdrawal-{account.account_id}"
    with pytest.raises(grpc.RpcError) as failure:
        bank.withdraw(
            account.account_id,
            500,
            request_id=rejected_id,
            min_sequence=frozen.commit_sequence,
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(failure.value) == "ACCOUNT_FROZEN"

    active = bank.set_status(frozen.account, pb.ACCOUNT_STATUS_ACTIVE)
    withdrawal = bank.withdraw(
        account.account_id, 500, min_sequence=active.commit_sequence
    )

    assert withdrawal.transaction.entries[0].balance_after.minor_units == 9_500
    # The transaction service rejected the frozen withdrawal from its own
    # view: the ledger store only looked the request id up, never posted it.
    ledger_lines = (stack.log_dir / "ledger.log").read_text().splitlines()
    mentions = [line for line in ledger_lines if f"request_id={rejected_id}" in line]
    assert any("/GetRequestOutcome " in line for line in mentions)
    assert not any("/PostTransaction " in line for line in mentions)


def test_deposit_visible_at_its_sequence(bank):
    account = bank.open_account()
    watch = bank.accounts.WatchAccount(
        acc.WatchAccountRequest(account_id=account.account_id), timeout=20
    )
    first = next(watch)
    assert first.account.balance.minor_units == 0

    deposit = bank.deposit(account.account_id, 4_321)

    seen = bank.get_account(account.account_id, min_sequence=deposit.commit_sequence)
    assert seen.balance.minor_units == 4_321
    assert seen.change_sequence <= deposit.commit_sequence
    change = next(watch)
    assert change.change_kind == pb.CHANGE_KIND_BALANCE_CHANGED
    assert change.account.balance.minor_units == 4_321
    watch.cancel()


def test_watch_transactions_streams_new_postings(bank):
    account = bank.open_account()
    other = bank.open_account()
    stream = bank.transactions.WatchTransactions(
        txn.WatchTransactionsRequest(account_id=account.account_id), timeout=20
    )
    deposit = bank.deposit(account.account_id, 700)
    bank.deposit(other.account_id, 900)
    transfer = bank.transfer(account.account_id, other.account_id, 200)

    received = [next(stream), next(stream)]
    stream.cancel()

    assert [m.transaction.transaction_id for m in received] == [
        deposit.transaction.transaction_id,
        transfer.transaction.transaction_id,
    ]
    assert received[1].sequence < transfer.commit_sequence + 1


def test_grpcurl_watch_account_prints_change(bank, stack):
    account = bank.open_account()
    process = subprocess.Popen(
        [
            GRPCURL,
            "-plaintext",
            "-max-time",
            "20",
            "-d",
            f'{{"account_id": {account.account_id}}}',
            stack.ports.address("accounts"),
            "bank.accounts.v1.AccountService/WatchAccount",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = read_until(process, '"account_id"')
        bank.deposit(account.account_id, 2_468)
        change = read_until(process, "CHANGE_KIND_BALANCE_CHANGED")
        change += read_until(process, '"sequence"')
    finally:
        process.kill()
        process.wait()
    assert "2468" not in output
    assert '"minor_units": "2468"' in change


def read_until(process: subprocess.Popen, marker: str, timeout: float = 15) -> str:
    """Read grpcurl's output line by line until ``marker`` has appeared."""
    output = ""
    deadline = time.monotonic() + timeout
    while marker not in output:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker!r} not printed in {timeout}s; got:\n{output}")
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"grpcurl ended before {marker!r}; got:\n{output}")
        output += line
    return output


def test_services_report_their_feed_position(bank):
    deposit = bank.deposit(bank.open_account().account_id, 1)
    requests = (
        (bank.accounts.GetServiceStatus, acc.GetServiceStatusRequest()),
        (bank.transactions.GetServiceStatus, txn.GetServiceStatusRequest()),
    )
    for call, request in requests:
        deadline = time.monotonic() + 10
        status = call(request, timeout=5)
        while status.applied_sequence < deposit.commit_sequence:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
            status = call(request, timeout=5)
        assert status.feed_connected
        assert status.ledger_sequence >= status.applied_sequence
        assert status.lag == status.ledger_sequence - status.applied_sequence


def test_future_min_sequence_is_out_of_range(bank):
    account = bank.open_account()
    future = latest_sequence(bank) + 1_000_000

    with pytest.raises(grpc.RpcError) as failure:
        bank.get_account(account.account_id, min_sequence=future)

    assert failure.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert reason_of(failure.value) == "SEQUENCE_OUT_OF_RANGE"
    assert str(future) in failure.value.details()


def feed_subscribers(stack: LocalStack) -> float:
    """Read the ledger store's open-stream gauge from its metrics endpoint."""
    url = f"http://127.0.0.1:{stack.ports.metrics['ledger']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    match = re.search(r"^ledger_feed_subscribers (\S+)$", text, flags=re.MULTILINE)
    assert match, "ledger_feed_subscribers missing from /metrics"
    return float(match.group(1))


def test_cancelled_streams_are_released(bank, stack):
    before = feed_subscribers(stack)
    subscribers = [Subscriber(bank.addresses["ledger"], None) for _ in range(3)]
    assert feed_subscribers(stack) == before + 3

    for subscriber in subscribers:
        subscriber.close()

    deadline = time.monotonic() + 5
    while feed_subscribers(stack) != before:
        assert time.monotonic() < deadline, "cancelled streams still counted"
        time.sleep(0.05)


def test_shutdown_ends_streams_cleanly(tmp_path):
    stack = LocalStack(db_path=tmp_path / "ledger.duckdb", log_dir=tmp_path / "logs")
    stack.start("ledger")
    subscriber = Subscriber(stack.ports.address("ledger"), 0)
    try:
        started = time.monotonic()
        exit_code = stack.stop("ledger")

        assert exit_code == 0
        assert subscriber.wait_ended(10)
        assert subscriber.error.code() == grpc.StatusCode.UNAVAILABLE
        assert reason_of(subscriber.error) == "SHUTTING_DOWN"
        assert time.monotonic() - started < 5
        assert subscriber.sequences() == list(range(1, len(subscriber.events) + 1))
    finally:
        subscriber.close()
        stack.stop_all()


def test_stopping_services_end_watch_streams_unavailable(tmp_path):
    stack = LocalStack(db_path=tmp_path / "ledger.duckdb", log_dir=tmp_path / "logs")
    stack.start_all()
    bank = Bank.for_stack(stack)
    try:
        account = bank.open_account()
        account_stream = bank.accounts.WatchAccount(
            acc.WatchAccountRequest(account_id=account.account_id), timeout=20
        )
        transaction_stream = bank.transactions.WatchTransactions(
            txn.WatchTransactionsRequest(account_id=account.account_id), timeout=20
        )
        bank.deposit(account.account_id, 100)
        assert next(account_stream).account.account_id == account.account_id
        assert next(transaction_stream).transaction.kind == pb.TRANSACTION_KIND_DEPOSIT

        stack.stop("accounts")
        stack.stop("transactions")

        for stream in (account_stream, transaction_stream):
            with pytest.raises(grpc.RpcError) as ended:
                for _ in stream:
                    pass
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
            assert reason_of(ended.value) == "SHUTTING_DOWN"
    finally:
        bank.close()
        stack.stop_all()


def test_retry_after_freeze_replays_first_result(bank, stack):
    account = bank.open_account()
    request_id = f"deposit-before-freeze-{account.account_id}"
    first = bank.deposit(account.account_id, 700, request_id=request_id)
    frozen = bank.set_status(
        bank.get_account(account.account_id), pb.ACCOUNT_STATUS_FROZEN
    )

    retry = bank.deposit(
        account.account_id,
        700,
        request_id=request_id,
        min_sequence=frozen.commit_sequence,
    )
    with pytest.raises(grpc.RpcError) as failure:
        bank.deposit(account.account_id, 700, min_sequence=frozen.commit_sequence)

    assert retry == first
    assert reason_of(failure.value) == "ACCOUNT_FROZEN"
    assert bank.ledger_account(account.account_id).balance.minor_units == 700


def test_malformed_posting_to_frozen_account_is_invalid(bank):
    account = bank.open_account()
    frozen = bank.set_status(account, pb.ACCOUNT_STATUS_FROZEN)

    with pytest.raises(grpc.RpcError) as failure:
        bank.deposit(
            account.account_id, 100, currency="czk", min_sequence=frozen.commit_sequence
        )

    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(failure.value) == "INVALID_CURRENCY"
