"""The ledger store's database and writer in the test process, without gRPC.

Tests that need a ledger in a known state, and then change its tables by
hand to break an invariant on purpose, post through ``InProcessLedger`` and
reach the DuckDB file through ``sql``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from google.protobuf import field_mask_pb2

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.adapters import audit as audit_sql
from db_service.adapters.database import Database
from db_service.commands.accounts import OpenAccount, UpdateAccount
from db_service.commands.customers import CreateCustomer
from db_service.commands.postings import PostTransaction
from db_service.writer import LedgerWriter


class InProcessLedger:
    """A Database and LedgerWriter on a temporary file; amounts in minor units."""

    def __init__(self, path: Path):
        self.database = Database(str(path), reader_threads=1)
        self.currencies = [row[0] for row in self.database.currencies()]
        self.writer = LedgerWriter(self.database, lambda events: None)
        self.writer.start(self.currencies)

    def close(self) -> None:
        self.writer.stop()
        self.database.close()

    def submit(self, command):
        async def run():
            return await asyncio.wait_for(self.writer.submit(command), 30)

        return asyncio.run(run())

    def open_account(self, overdraft: int = 0, currency: str = "CZK") -> pb.Account:
        customer = self.submit(
            CreateCustomer(
                store.CreateCustomerRequest(
                    request_id=_request_id(),
                    customer=pb.Customer(full_name="Audit Test"),
                )
            )
        ).customer
        request = store.OpenAccountRequest(
            request_id=_request_id(),
            account=pb.Account(
                currency_code=currency,
                type=pb.ACCOUNT_TYPE_CHECKING,
                overdraft_limit=pb.Money(currency_code=currency, minor_units=overdraft),
                holders=[
                    pb.AccountHolder(
                        customer_id=customer.customer_id, role=pb.HOLDER_ROLE_OWNER
                    )
                ],
            ),
        )
        return self.submit(OpenAccount(request, frozenset(self.currencies))).account

    def post(
        self,
        kind: int,
        account_id: int,
        minor_units: int,
        *,
        counter_account_id: int = 0,
        currency: str = "CZK",
        **fields,
    ) -> pb.Transaction:
        request = store.PostTransactionRequest(
            request_id=_request_id(),
            kind=kind,
            account_id=account_id,
            counter_account_id=counter_account_id,
            amount=pb.Money(currency_code=currency, minor_units=minor_units),
            **fields,
        )
        command = PostTransaction(request, frozenset(self.currencies))
        return self.submit(command).transaction

    def set_overdraft(self, account: pb.Account, minor_units: int) -> pb.Account:
        request = store.UpdateAccountRequest(
            request_id=_request_id(),
            account=pb.Account(
                account_id=account.account_id,
                overdraft_limit=pb.Money(
                    currency_code=account.currency_code, minor_units=minor_units
                ),
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["overdraft_limit"]),
            expected_version=account.version,
        )
        return self.submit(UpdateAccount(request)).account

    def sql(self, statement: str, parameters: list | None = None) -> list[tuple]:
        """Run one statement on a cursor of its own and return its rows."""
        cursor = self.database.cursor()
        try:
            return cursor.execute(statement, parameters or []).fetchall()
        finally:
            cursor.close()

    def audit(self, max_violations: int = 1000) -> audit_sql.Report:
        cursor = self.database.cursor()
        try:
            return audit_sql.run(cursor, max_violations)
        finally:
            cursor.close()


def _request_id() -> str:
    return f"store-{uuid.uuid4().hex}"
