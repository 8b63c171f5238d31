"""The ledger store's database and writer in-process, for tests without servers.

``Ledger`` opens a real DuckDB file and builds ``LedgerWriter`` instances on
it; the request builders return the commands the ledger store's servicer
would build from the same requests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.adapters.database import Database
from db_service.adapters.schema import CURRENCIES
from db_service.commands.accounts import OpenAccount
from db_service.commands.base import Command
from db_service.commands.customers import CreateCustomer
from db_service.commands.postings import PostTransaction
from db_service.domain.model import ChangeRecord
from db_service.writer import LedgerWriter

CURRENCY_CODES = frozenset(code for code, _, _ in CURRENCIES)


def new_request_id(prefix: str = "unit") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class Ledger:
    """A DuckDB file in a test folder and the batches its writers committed."""

    def __init__(self, path: Path):
        self.path = path
        self.database = Database(str(path))
        self.batches: list[list[ChangeRecord]] = []

    def writer(self, max_batch: int = 512) -> LedgerWriter:
        """Build a writer; it takes requests once ``start`` is called."""
        return LedgerWriter(self.database, self.batches.append, max_batch=max_batch)

    def close(self) -> None:
        self.database.close()

    def scalar(self, sql: str, params: Sequence[object] = ()) -> object:
        cursor = self.database.cursor()
        try:
            return cursor.execute(sql, list(params)).fetchone()[0]
        finally:
            cursor.close()

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        cursor = self.database.cursor()
        try:
            return cursor.execute(sql, list(params)).fetchall()
        finally:
            cursor.close()


def start(writer: LedgerWriter) -> None:
    writer.start(sorted(CURRENCY_CODES))


async def run_together(writer: LedgerWriter, commands: Sequence[Command]) -> list:
    """Queue every command, then start the writer, so it takes them as one batch.

    Returns each command's response, or the exception it failed with.
    """
    tasks = [asyncio.ensure_future(writer.submit(command)) for command in commands]
    await asyncio.sleep(0)
    start(writer)
    return await asyncio.gather(*tasks, return_exceptions=True)


async def run_in_order(writer: LedgerWriter, commands: Sequence[Command]) -> list:
    """Submit the commands one after another to a started writer."""
    return [await writer.submit(command) for command in commands]


def create_customer(name: str = "Test Customer", **fields) -> CreateCustomer:
    return CreateCustomer(
        store.CreateCustomerRequest(
            request_id=new_request_id("customer"),
            customer=pb.Customer(full_name=name, **fields),
        )
    )


def open_account(
    customer_id: int, *, currency: str = "CZK", overdraft: int = 0, **fields
) -> OpenAccount:
    account = pb.Account(
        currency_code=currency,
        type=pb.ACCOUNT_TYPE_CHECKING,
        holders=[pb.AccountHolder(customer_id=customer_id, role=pb.HOLDER_ROLE_OWNER)],
        overdraft_limit=pb.Money(currency_code=currency, minor_units=overdraft),
        **fields,
    )
    request = store.OpenAccountRequest(
        request_id=new_request_id("open"), account=account
    )
    return OpenAccount(request, CURRENCY_CODES)


def posting(
    kind: int,
    account_id: int,
    minor_units: int,
    *,
    counter_account_id: int = 0,
    currency: str = "CZK",
    request_id: str | None = None,
    **fields,
) -> PostTransaction:
    request = store.PostTransactionRequest(
        request_id=request_id or new_request_id("post"),
        kind=kind,
        account_id=account_id,
        counter_account_id=counter_account_id,
        amount=pb.Money(currency_code=currency, minor_units=minor_units),
        **fields,
    )
    return PostTransaction(request, CURRENCY_CODES)


def deposit(account_id: int, minor_units: int, **fields) -> PostTransaction:
    return posting(pb.TRANSACTION_KIND_DEPOSIT, account_id, minor_units, **fields)


def withdraw(account_id: int, minor_units: int, **fields) -> PostTransaction:
    return posting(pb.TRANSACTION_KIND_WITHDRAWAL, account_id, minor_units, **fields)


def transfer(source: int, destination: int, minor_units: int, **fields):
    return posting(
        pb.TRANSACTION_KIND_TRANSFER,
        source,
        minor_units,
        counter_account_id=destination,
        **fields,
    )
