"""A write whose caller gives up must not stop the ledger's single writer.

A client that disconnects or reaches its deadline cancels the future of a
request still in the writer's queue. The writer used to resolve that future
anyway, which raised InvalidStateError and ended the writer thread, so every
later write hung.
"""

from __future__ import annotations

import asyncio

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.adapters import customers as customers_sql
from db_service.adapters.database import Database
from db_service.commands.customers import CreateCustomer
from db_service.writer import LedgerWriter


def _create(request_id: str, external_ref: str) -> CreateCustomer:
    return CreateCustomer(
        store.CreateCustomerRequest(
            request_id=request_id,
            customer=pb.Customer(full_name="Cancel Test", external_ref=external_ref),
        )
    )


def test_cancelled_write_skipped_and_writer_continues(tmp_path):
    database = Database(str(tmp_path / "ledger.duckdb"))
    writer = LedgerWriter(database, lambda events: None)

    async def scenario():
        # Queue a request before the writer runs, then cancel its caller.
        abandoned = asyncio.ensure_future(writer.submit(_create("gone", "ref:gone")))
        await asyncio.sleep(0)
        abandoned.cancel()
        await asyncio.sleep(0)
        writer.start([row[0] for row in database.currencies()])
        return await asyncio.wait_for(writer.submit(_create("kept", "ref:kept")), 10)

    try:
        response = asyncio.run(scenario())
        cursor = database.cursor()
        gone = customers_sql.find_by_ref(cursor, "ref:gone")
        kept = customers_sql.find_by_ref(cursor, "ref:kept")
    finally:
        writer.stop()
        database.close()

    assert response.customer.external_ref == "ref:kept"
    assert kept is not None
    assert gone is None
