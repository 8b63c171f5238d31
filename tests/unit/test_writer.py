"""LedgerWriter on a real DuckDB file: group commit, rules, idempotency, restart.

Commands queued before ``start`` wait in the writer's queue, and the writer
takes them as one batch when it starts. That makes the batch boundaries in
these tests deterministic without any timing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors
from db_service.batch import Batch
from db_service.commands.base import Command
from db_service.commands.customers import CreateCustomer
from db_service.domain.model import CustomerRecord
from tests.support.ledger import (
    Ledger,
    create_customer,
    deposit,
    new_request_id,
    open_account,
    run_in_order,
    run_together,
    start,
    transfer,
    withdraw,
)


@pytest.fixture
def ledger(tmp_path) -> Iterator[Ledger]:
    opened = Ledger(tmp_path / "ledger.duckdb")
    yield opened
    opened.close()


def run(coroutine):
    return asyncio.run(coroutine)


def funded_accounts(ledger: Ledger, count: int, balance: int, overdraft: int = 0):
    """Open ``count`` CZK accounts holding ``balance`` each and return their ids."""

    async def setup() -> list[int]:
        writer = ledger.writer()
        start(writer)
        try:
            owner = (await writer.submit(create_customer())).customer.customer_id
            opened = await run_in_order(
                writer,
                [open_account(owner, overdraft=overdraft) for _ in range(count)],
            )
            ids = [response.account.account_id for response in opened]
            await run_in_order(writer, [deposit(i, balance) for i in ids])
            return ids
        finally:
            writer.stop()

    return run(setup())


def balances(ledger: Ledger) -> dict[int, int]:
    return dict(ledger.rows("SELECT account_id, balance FROM accounts"))


def entry_sums(ledger: Ledger) -> dict[int, int]:
    rows = ledger.rows(
        "SELECT a.account_id, coalesce(sum(e.amount), 0)::BIGINT FROM accounts a "
        "LEFT JOIN entries e USING (account_id) GROUP BY a.account_id"
    )
    return dict(rows)


def assert_consistent(ledger: Ledger) -> None:
    """Balances equal entry sums, each currency sums to 0, the log has no gaps."""
    assert balances(ledger) == entry_sums(ledger)
    per_currency = ledger.rows(
        "SELECT currency_code, sum(balance)::BIGINT FROM accounts GROUP BY 1"
    )
    assert all(total == 0 for _, total in per_currency), per_currency
    seqs = [row[0] for row in ledger.rows("SELECT seq FROM change_log ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_queued_commands_commit_as_one_batch(ledger):
    ids = funded_accounts(ledger, 5, 10_000)
    committed_before = len(ledger.batches)
    rng = random.Random(7)
    moves = [rng.sample(ids, 2) + [rng.randint(1, 300)] for _ in range(40)]

    writer = ledger.writer()
    try:
        results = run(run_together(writer, [transfer(*move) for move in moves]))
    finally:
        writer.stop()

    assert all(isinstance(r, store.PostTransactionResponse) for r in results)
    assert len(ledger.batches) == committed_before + 1
    # One POSTED event and two BALANCE_CHANGED events per transfer.
    assert len(ledger.batches[-1]) == 3 * len(moves)
    expected = {i: 10_000 for i in ids}
    for source, destination, amount in moves:
        expected[source] -= amount
        expected[destination] += amount
    assert {i: balances(ledger)[i] for i in ids} == expected
    assert_consistent(ledger)


def test_commit_sequences_follow_queue_order(ledger):
    writer = ledger.writer()
    try:
        results = run(run_together(writer, [create_customer() for _ in range(6)]))
    finally:
        writer.stop()

    sequences = [r.commit_sequence for r in results]
    customer_ids = [r.customer.customer_id for r in results]
    assert sequences == list(range(sequences[0], sequences[0] + 6))
    assert customer_ids == list(range(customer_ids[0], customer_ids[0] + 6))
    assert [r.customer.change_sequence for r in results] == sequences
    assert_consistent(ledger)


def test_max_batch_splits_the_queue(ledger):
    writer = ledger.writer(max_batch=4)
    try:
        run(run_together(writer, [create_customer() for _ in range(10)]))
    finally:
        writer.stop()

    customer_batches = [
        batch for batch in ledger.batches if batch[0].entity_type == "CUSTOMER"
    ]
    assert [len(batch) for batch in customer_batches] == [4, 4, 2]


def test_failing_command_fails_alone_in_its_batch(ledger):
    first, second, third = funded_accounts(ledger, 3, 1_000, overdraft=500)
    committed_before = len(ledger.batches)
    commands = [
        transfer(first, second, 100),
        transfer(first, second, 10_000),
        transfer(second, 999_999, 100),
        deposit(third, 50, currency="EUR"),
        transfer(third, first, 300),
    ]

    writer = ledger.writer()
    try:
        results = run(run_together(writer, commands))
    finally:
        writer.stop()

    assert isinstance(results[0], store.PostTransactionResponse)
    assert isinstance(results[1], errors.InsufficientFunds)
    assert isinstance(results[2], errors.AccountNotFound)
    assert isinstance(results[3], errors.CurrencyMismatch)
    assert isinstance(results[4], store.PostTransactionResponse)
    assert len(ledger.batches) == committed_before + 1
    assert balances(ledger)[first] == 1_000 - 100 + 300
    assert balances(ledger)[second] == 1_000 + 100
    assert balances(ledger)[third] == 1_000 - 300
    failed_ids = [commands[i].request_id for i in (1, 2, 3)]
    recorded = ledger.scalar(
        "SELECT count(*) FROM idempotency_keys WHERE request_id IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [failed_ids],
    )
    assert recorded == 0
    assert_consistent(ledger)


def test_rules_see_earlier_batch_commands(ledger):
    (account,) = funded_accounts(ledger, 1, 1_000, overdraft=0)

    writer = ledger.writer()
    try:
        results = run(
            run_together(
                writer,
                [
                    withdraw(account, 600),
                    withdraw(account, 600),
                    withdraw(account, 400),
                ],
            )
        )
    finally:
        writer.stop()

    assert isinstance(results[0], store.PostTransactionResponse)
    assert isinstance(results[1], errors.InsufficientFunds)
    assert results[1].metadata["available"] == "400"
    assert isinstance(results[2], store.PostTransactionResponse)
    assert balances(ledger)[account] == 0
    assert_consistent(ledger)


def test_replay_returns_first_response(ledger):
    source, destination = funded_accounts(ledger, 2, 1_000)
    request_id = new_request_id("replay")

    writer = ledger.writer()
    try:
        together = run(
            run_together(
                writer,
                [
                    transfer(source, destination, 250, request_id=request_id),
                    transfer(source, destination, 250, request_id=request_id),
                ],
            )
        )
        later = run(
            writer.submit(transfer(source, destination, 250, request_id=request_id))
        )
    finally:
        writer.stop()

    assert together[0] == together[1]
    assert later == together[0]
    assert balances(ledger)[source] == 750
    transfers = ledger.scalar(
        "SELECT count(*) FROM transactions WHERE kind = 'TRANSFER'"
    )
    assert transfers == 1
    assert_consistent(ledger)


def test_reused_request_id_is_rejected(ledger):
    source, destination = funded_accounts(ledger, 2, 1_000)
    request_id = new_request_id("reuse")

    async def scenario():
        writer = ledger.writer()
        start(writer)
        try:
            first = await writer.submit(
                transfer(source, destination, 100, request_id=request_id)
            )
            outcomes = []
            for command in (
                transfer(source, destination, 101, request_id=request_id),
                deposit(source, 100, request_id=request_id),
                CreateCustomer(
                    store.CreateCustomerRequest(
                        request_id=request_id, customer=pb.Customer(full_name="X")
                    )
                ),
            ):
                try:
                    outcomes.append(await writer.submit(command))
                except errors.LedgerError as error:
                    outcomes.append(error)
            return first, outcomes
        finally:
            writer.stop()

    first, outcomes = run(scenario())

    assert isinstance(first, store.PostTransactionResponse)
    for outcome in outcomes:
        assert isinstance(outcome, errors.RequestIdReused)
        assert outcome.metadata["first_method"] == "PostTransaction"
    assert balances(ledger)[source] == 900
    assert_consistent(ledger)


def test_rejected_request_id_stays_usable(ledger):
    source, destination = funded_accounts(ledger, 2, 1_000)
    request_id = new_request_id("retry")

    async def scenario():
        writer = ledger.writer()
        start(writer)
        try:
            with pytest.raises(errors.InsufficientFunds):
                await writer.submit(
                    transfer(source, destination, 5_000, request_id=request_id)
                )
            await writer.submit(deposit(source, 4_000))
            return await writer.submit(
                transfer(source, destination, 5_000, request_id=request_id)
            )
        finally:
            writer.stop()

    response = run(scenario())

    assert response.transaction.amount.minor_units == 5_000
    assert balances(ledger)[destination] == 6_000


def test_reopened_file_continues_ids_and_sequence(tmp_path):
    path = tmp_path / "ledger.duckdb"
    first = Ledger(path)
    ids = funded_accounts(first, 2, 1_000)
    request_id = new_request_id("before-restart")

    async def before():
        writer = first.writer()
        start(writer)
        try:
            return await writer.submit(
                transfer(ids[0], ids[1], 10, request_id=request_id)
            )
        finally:
            writer.stop()

    posted = run(before())
    last = first.rows(
        "SELECT (SELECT max(customer_id) FROM customers), "
        "(SELECT max(account_id) FROM accounts), "
        "(SELECT max(transaction_id) FROM transactions), "
        "(SELECT max(entry_id) FROM entries), (SELECT max(seq) FROM change_log)"
    )[0]
    first.close()

    second = Ledger(path)

    async def after():
        writer = second.writer()
        start(writer)
        try:
            replay = await writer.submit(
                transfer(ids[0], ids[1], 10, request_id=request_id)
            )
            customer = await writer.submit(create_customer())
            account = await writer.submit(open_account(customer.customer.customer_id))
            moved = await writer.submit(transfer(ids[1], ids[0], 5))
            return writer.latest_sequence, replay, customer, account, moved
        finally:
            writer.stop()

    try:
        latest, replay, customer, account, moved = run(after())
        assert_consistent(second)
    finally:
        second.close()

    max_customer, max_account, max_transaction, max_entry, max_seq = last
    assert replay == posted
    assert customer.customer.customer_id == max_customer + 1
    assert customer.commit_sequence == max_seq + 1
    assert account.account.account_id == max_account + 1
    assert moved.transaction.transaction_id == max_transaction + 1
    assert [e.entry_id for e in moved.transaction.entries] == [
        max_entry + 1,
        max_entry + 2,
    ]
    assert latest == max_seq + 5


class _FailingCommand(Command):
    """A command with a bug: it raises an error that is not a ledger rule."""

    method = "CreateCustomer"
    response_type = store.CreateCustomerResponse

    def execute(self, batch: Batch):
        raise ZeroDivisionError("a bug in a command")


class _UnwritableCustomer(Command):
    """A command that stages a row the database rejects at commit time."""

    method = "CreateCustomer"
    response_type = store.CreateCustomerResponse

    def execute(self, batch: Batch):
        now = batch.now_us
        record = CustomerRecord(
            batch.new_customer_id(),
            "x" * 300,
            None,
            None,
            None,
            None,
            None,
            "ACTIVE",
            1,
            None,
            now,
            now,
            0,
        )
        batch.stage_customer(record, "CREATED", created=True)
        return store.CreateCustomerResponse(commit_sequence=batch.last_seq)


@pytest.mark.parametrize("broken", [_FailingCommand, _UnwritableCustomer])
def test_broken_command_fails_alone(ledger, broken):
    source, destination = funded_accounts(ledger, 2, 1_000)
    bad = broken(store.CreateCustomerRequest(request_id=new_request_id("bad")))
    commands = [transfer(source, destination, 100), bad, create_customer("After")]

    writer = ledger.writer()
    try:
        results = run(run_together(writer, commands))
    finally:
        writer.stop()

    assert isinstance(results[0], store.PostTransactionResponse)
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], store.CreateCustomerResponse)
    assert balances(ledger)[source] == 900
    assert (
        ledger.scalar("SELECT count(*) FROM customers WHERE full_name = 'After'") == 1
    )
    assert ledger.scalar("SELECT max(length(full_name)) FROM customers") < 300
    assert_consistent(ledger)


def test_stopped_writer_rejects_new_commands(ledger):
    writer = ledger.writer()
    start(writer)
    writer.stop()

    with pytest.raises(errors.ShuttingDown):
        run(writer.submit(create_customer()))
