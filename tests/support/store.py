"""The ledger store's database and writer in the test process, without gRPC.

Tests that need a ledger in a known state, and then change its tables by
hand to break an invariant on purpose, post through ``InProcessLedger`` and
reach the DuckDB file through ``sql``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from google.protobuf import field_mask_pb2

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.adapters import audit as audit_sql
from db_service.adapters.database import Database
from db_service.commands.accounts import UpdateAccount
from db_service.writer import LedgerWriter
from tests.support.ledger import create_customer, new_request_id, open_account, posting


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
        customer = self.submit(create_customer("Audit Test")).customer
        command = open_account(
            customer.customer_id, currency=currency, overdraft=overdraft
        )
        return self.submit(command).account

    def post(self, kind: int, account_id: int, minor_units: int, **fields):
        """Post one transaction; ``fields`` as for ``tests.support.ledger.posting``."""
        return self.submit(posting(kind, account_id, minor_units, **fields)).transaction

    def set_overdraft(self, account: pb.Account, minor_units: int) -> pb.Account:
        request = store.UpdateAccountRequest(
            request_id=new_request_id("store"),
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
