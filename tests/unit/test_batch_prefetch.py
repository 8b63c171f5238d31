"""The writer's per-batch prefetch of external references and holders.

A batch loads the external references and customers its commands will
check in one query per kind. These tests check that the prefetched results
match what a query per item would return, on a real DuckDB file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors
from db_service.adapters import accounts as accounts_sql
from db_service.adapters.database import Database
from db_service.batch import AccountCache, Batch, Counters
from db_service.commands.accounts import OpenAccount
from db_service.commands.customers import CreateCustomer
from db_service.commands.postings import PostTransaction
from db_service.writer import LedgerWriter


@pytest.fixture
def database(tmp_path) -> Iterator[Database]:
    opened = Database(str(tmp_path / "ledger.duckdb"))
    yield opened
    opened.close()


@pytest.fixture
def writer(database: Database) -> Iterator[LedgerWriter]:
    started = LedgerWriter(database, lambda events: None)
    started.start([row[0] for row in database.currencies()])
    yield started
    started.stop()


def _customer(request_id: str, external_ref: str = "") -> CreateCustomer:
    return CreateCustomer(
        store.CreateCustomerRequest(
            request_id=request_id,
            customer=pb.Customer(full_name="Prefetch Test", external_ref=external_ref),
        )
    )


def _account(request_id: str, external_ref: str, *holders: int) -> OpenAccount:
    account = pb.Account(
        currency_code="CZK",
        type=pb.ACCOUNT_TYPE_CHECKING,
        holders=[
            pb.AccountHolder(customer_id=customer_id, role=pb.HOLDER_ROLE_OWNER)
            for customer_id in holders
        ],
        external_ref=external_ref,
    )
    request = store.OpenAccountRequest(request_id=request_id, account=account)
    return OpenAccount(request, frozenset({"CZK"}))


def _submit_together(writer: LedgerWriter, *commands) -> list:
    """Submit the commands at once, so they share batches; return each outcome."""

    async def submit_all():
        return await asyncio.gather(
            *(writer.submit(command) for command in commands), return_exceptions=True
        )

    return asyncio.run(submit_all())


def _new_batch(database: Database) -> Batch:
    cursor = database.cursor()
    return Batch(
        cursor,
        Counters.load(cursor),
        AccountCache(100),
        accounts_sql.bank_accounts(cursor),
        0,
    )


def test_prefetched_refs_match_database(database, writer):
    _submit_together(writer, _customer("c1", "ref:taken"))
    batch = _new_batch(database)

    batch.prefetch([], set(), external_refs={"customer": {"ref:taken", "ref:free"}})

    assert batch.external_ref_taken("customer", "ref:taken")
    assert not batch.external_ref_taken("customer", "ref:free")
    assert not batch.external_ref_taken("customer", "ref:never-prefetched")


def test_prefetched_customers_match_database(database, writer):
    [created] = _submit_together(writer, _customer("c1"))
    customer_id = created.customer.customer_id
    batch = _new_batch(database)

    batch.prefetch([], set(), customer_ids={customer_id, 999})

    assert batch.customer(customer_id).customer_id == customer_id
    with pytest.raises(errors.CustomerNotFound):
        batch.customer(999)


def test_concurrent_duplicate_refs_rejected(writer):
    outcomes = _submit_together(
        writer, *(_customer(f"dup-{i}", "ref:same") for i in range(5))
    )

    created = [o for o in outcomes if isinstance(o, store.CreateCustomerResponse)]
    rejected = [o for o in outcomes if isinstance(o, errors.ExternalRefTaken)]
    assert len(created) == 1
    assert len(rejected) == 4


def test_committed_ref_rejected(writer):
    _submit_together(writer, _customer("first", "ref:early"))

    [outcome] = _submit_together(writer, _customer("second", "ref:early"))

    assert isinstance(outcome, errors.ExternalRefTaken)


def test_open_account_checks_holders_and_ref(writer):
    created = _submit_together(writer, _customer("h1"), _customer("h2"))
    ids = [response.customer.customer_id for response in created]

    outcomes = _submit_together(
        writer,
        _account("a1", "acct:1", ids[0]),
        _account("a2", "acct:2", ids[1]),
        _account("a3", "acct:1", ids[0]),
        _account("a4", "acct:4", 12345),
    )

    assert isinstance(outcomes[0], store.OpenAccountResponse)
    assert isinstance(outcomes[1], store.OpenAccountResponse)
    assert isinstance(outcomes[2], errors.ExternalRefTaken)
    assert isinstance(outcomes[3], errors.CustomerNotFound)


def _imported_deposit(request_id: str, account_id: int, external_ref: str):
    request = store.PostTransactionRequest(
        request_id=request_id,
        kind=pb.TRANSACTION_KIND_DEPOSIT,
        account_id=account_id,
        amount=pb.Money(currency_code="CZK", minor_units=100),
        value_date="1993-01-01",
        external_ref=external_ref,
        imported=True,
    )
    return PostTransaction(request, frozenset({"CZK"}))


def test_transaction_refs_checked_per_batch(writer):
    [customer] = _submit_together(writer, _customer("owner"))
    [opened] = _submit_together(
        writer, _account("acct", "acct:t", customer.customer.customer_id)
    )
    account_id = opened.account.account_id
    _submit_together(writer, _imported_deposit("t0", account_id, "txn:early"))

    outcomes = _submit_together(
        writer,
        _imported_deposit("t1", account_id, "txn:1"),
        _imported_deposit("t2", account_id, "txn:early"),
        _imported_deposit("t3", account_id, "txn:1"),
    )

    assert isinstance(outcomes[0], store.PostTransactionResponse)
    assert isinstance(outcomes[1], errors.ExternalRefTaken)
    assert isinstance(outcomes[2], errors.ExternalRefTaken)
