"""Concurrent transfers through the transaction service keep the ledger exact.

Eight threads post 250 random transfers each among ten CZK accounts with
overdraft limits. Amounts are drawn so that many transfers fail for
insufficient funds. Afterwards the test reads everything back from the
ledger store and checks the ledger's invariants.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from bank.ledger.v1 import resources_pb2 as pb
from tests.support.bank import (
    Bank,
    ledger_accounts,
    ledger_statement,
    reason_of,
)

pytestmark = pytest.mark.e2e

THREADS = 8
TRANSFERS_PER_THREAD = 250
ACCOUNTS = 10
OPENING_BALANCE = 2_000
MAX_TRANSFER = 4_000
SEED = 20_260_504


def post_transfers(bank: Bank, account_ids: list[int], thread: int) -> dict:
    """Post this thread's transfers and return the ids posted and the failures."""
    rng = random.Random(SEED + thread)
    posted: list[int] = []
    rejected: Counter[str] = Counter()
    for _ in range(TRANSFERS_PER_THREAD):
        source, destination = rng.sample(account_ids, 2)
        amount = rng.randint(1, MAX_TRANSFER)
        try:
            response = bank.transfer(source, destination, amount)
        except grpc.RpcError as error:
            rejected[f"{error.code().name} {reason_of(error)}"] += 1
            continue
        posted.append(response.transaction.transaction_id)
    return {"posted": posted, "rejected": rejected}


def test_concurrent_transfers_keep_the_ledger_exact(bank):
    rng = random.Random(SEED)
    customer = bank.create_customer("Concurrent Owner")
    limits = {}
    for _ in range(ACCOUNTS):
        limit = rng.choice([0, 500, 1_000, 3_000])
        account = bank.open_account(customer.customer_id, overdraft=limit)
        bank.deposit(account.account_id, OPENING_BALANCE)
        limits[account.account_id] = limit
    account_ids = sorted(limits)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(
            pool.map(
                lambda thread: post_transfers(bank, account_ids, thread),
                range(THREADS),
            )
        )

    posted = [tid for result in results for tid in result["posted"]]
    rejected = sum((result["rejected"] for result in results), Counter())
    assert len(posted) + sum(rejected.values()) == THREADS * TRANSFERS_PER_THREAD
    assert set(rejected) == {"FAILED_PRECONDITION INSUFFICIENT_FUNDS"}, rejected
    assert len(posted) > 0

    accounts = ledger_accounts(bank)
    statements = {a.account_id: ledger_statement(bank, a.account_id) for a in accounts}

    for account in accounts:
        lines = statements[account.account_id]
        total = sum(line.amount.minor_units for line in lines)
        assert account.balance.minor_units == total, account.account_id
        if lines:
            assert lines[-1].balance_after == account.balance, account.account_id

    per_currency: Counter[str] = Counter()
    for account in accounts:
        per_currency[account.balance.currency_code] += account.balance.minor_units
    assert set(per_currency.values()) == {0}, per_currency

    customer_accounts = [a for a in accounts if a.type != pb.ACCOUNT_TYPE_INTERNAL]
    assert sorted(a.account_id for a in customer_accounts) == account_ids
    for account in customer_accounts:
        floor = -account.overdraft_limit.minor_units
        assert account.overdraft_limit.minor_units == limits[account.account_id]
        assert account.balance.minor_units >= floor, account.account_id
        running = [
            line.balance_after.minor_units for line in statements[account.account_id]
        ]
        assert min(running) >= floor, account.account_id

    transfers = {
        line.transaction_id
        for account_id in account_ids
        for line in statements[account_id]
        if line.kind == pb.TRANSACTION_KIND_TRANSFER
    }
    assert len(transfers) == len(posted)
    assert transfers == set(posted)
    assert sum(a.balance.minor_units for a in customer_accounts) == (
        ACCOUNTS * OPENING_BALANCE
    )
