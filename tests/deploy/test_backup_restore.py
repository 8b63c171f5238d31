"""The backup and restore procedure of the operator guide, for local processes.

A backup is a copy of the DuckDB file taken while the ledger store is
stopped. A restore puts the copy back while all three services are
stopped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import grpc
import pytest

from bank.accounts.v1 import account_service_pb2 as acc
from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from bank_common.stack import LocalStack
from tests.contract.client import Api, failure_of

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"


def copy_database(source: Path, target: Path) -> None:
    """Copy the DuckDB file and, when one is left, its write-ahead log."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    wal = source.with_name(source.name + ".wal")
    target_wal = target.with_name(target.name + ".wal")
    target_wal.unlink(missing_ok=True)
    if wal.exists():
        shutil.copy2(wal, target_wal)


def connect(stack: LocalStack) -> tuple[Api, list[grpc.Channel]]:
    channels = [
        grpc.insecure_channel(stack.ports.address("accounts")),
        grpc.insecure_channel(stack.ports.address("transactions")),
    ]
    api = Api(
        accounts=acc_grpc.AccountServiceStub(channels[0]),
        transactions=txn_grpc.TransactionServiceStub(channels[1]),
    )
    return api, channels


def wait_for_feed(api: Api, timeout: float = 20.0) -> acc.GetServiceStatusResponse:
    deadline = time.monotonic() + timeout
    while True:
        status = api.accounts.GetServiceStatus(acc.GetServiceStatusRequest(), timeout=5)
        if status.feed_connected or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def deposit_after_restart(api: Api, account_id: int, minor_units: int):
    """Deposit as a client should once the ledger store is back: retry on
    UNAVAILABLE with the same request id until the front end has reconnected."""
    request = api.deposit_request(account_id, minor_units)
    deadline = time.monotonic() + 20
    while True:
        try:
            return api.transactions.Deposit(request, timeout=10)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def failure_of_deposit(api: Api, account_id: int):
    with pytest.raises(grpc.RpcError) as raised:
        api.transactions.Deposit(api.deposit_request(account_id, 1), timeout=10)
    return failure_of(raised.value)


@pytest.fixture
def stack(tmp_path):
    # A short ledger timeout keeps the outage check quick.
    front_end = ["--ledger-timeout", "1"]
    local = LocalStack(
        db_path=tmp_path / "data" / "ledger.duckdb",
        log_dir=tmp_path / "logs",
        extra_args={"accounts": front_end, "transactions": front_end},
    )
    try:
        local.start_all()
        yield local
    finally:
        local.stop_all()


def test_backup_while_ledger_store_stopped(stack, tmp_path):
    api, channels = connect(stack)
    account = api.account()
    api.deposit(account.account_id, 1_000)

    stack.stop("ledger")
    outage = failure_of_deposit(api, account.account_id)
    copy_database(stack.db_path, tmp_path / "backups" / "ledger.duckdb")
    stack.start("ledger")
    later = deposit_after_restart(api, account.account_id, 500)

    assert outage.code == grpc.StatusCode.UNAVAILABLE
    assert outage.reason == "LEDGER_STORE_UNAVAILABLE"
    balance = api.get_account(account.account_id, later.commit_sequence).balance
    assert balance.minor_units == 1_500
    for channel in channels:
        channel.close()


def test_restore_takes_the_ledger_back(stack, tmp_path):
    api, channels = connect(stack)
    account = api.account()
    backed_up = api.deposit(account.account_id, 1_000)
    stack.stop("ledger")
    backup = tmp_path / "backups" / "ledger.duckdb"
    copy_database(stack.db_path, backup)
    stack.start("ledger")
    deposit_after_restart(api, account.account_id, 500)

    stack.stop_all()
    copy_database(backup, stack.db_path)
    stack.start_all()
    status = wait_for_feed(api)
    restored = api.get_account(account.account_id)
    lines, _ = api.statement(account.account_id)
    after = deposit_after_restart(api, account.account_id, 7)

    assert status.ledger_sequence == backed_up.commit_sequence
    assert restored.balance.minor_units == 1_000
    assert len(lines) == 1
    # Sequences after the backup are issued again.
    assert after.transaction.change_sequence == backed_up.commit_sequence + 1
    for channel in channels:
        channel.close()


def test_guide_checks_a_backup(stack, tmp_path):
    api, channels = connect(stack)
    account = api.account()
    deposit = api.deposit(account.account_id, 1_000)
    stack.stop("ledger")
    backup = tmp_path / "check.duckdb"
    copy_database(stack.db_path, backup)
    # The guide's check, as printed, with the copy's path swapped in.
    script = re.search(r'python -c "(import duckdb.*?)"\n', GUIDE.read_text(), re.S)
    code = script.group(1).replace("/tmp/check.duckdb", str(backup))

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    accounts = count_accounts(backup)
    assert result.stdout.split() == [
        f"({deposit.commit_sequence},)",
        f"({accounts},)",
    ]
    for channel in channels:
        channel.close()


def count_accounts(path: Path) -> int:
    """Count the accounts table's rows of a DuckDB copy, bank accounts included."""
    with duckdb.connect(str(path), read_only=True) as database:
        return database.execute("SELECT count(*) FROM accounts").fetchone()[0]
