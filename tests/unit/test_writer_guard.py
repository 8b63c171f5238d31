"""The single writer keeps serving after a failure inside a batch."""

from __future__ import annotations

import asyncio

import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.commands.base import Command
from tests.support.store import InProcessLedger


class UnloadableAccountCommand(Command):
    """A command naming an account id no BIGINT holds, so loading it fails."""

    method = "PostTransaction"
    response_type = store.PostTransactionResponse

    def __init__(self) -> None:
        self.request_id = "unloadable-account"
        self.request_hash = b""

    def account_ids(self) -> set[int]:
        return {2**64}

    def execute(self, batch):
        raise AssertionError("the batch fails before any command runs")


@pytest.fixture
def ledger(tmp_path):
    instance = InProcessLedger(tmp_path / "ledger.duckdb")
    yield instance
    instance.close()


def test_writer_survives_failing_batch(ledger):
    account = ledger.open_account()

    async def submit_broken_then_deposit():
        with pytest.raises(RuntimeError, match="could not be committed"):
            await asyncio.wait_for(ledger.writer.submit(UnloadableAccountCommand()), 10)

    asyncio.run(submit_broken_then_deposit())
    transaction = ledger.post(pb.TRANSACTION_KIND_DEPOSIT, account.account_id, 100)

    assert transaction.amount.minor_units == 100
    assert ledger.audit().violations == []
