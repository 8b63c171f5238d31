"""Commands that post transactions: deposits, withdrawals, transfers, reversals."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bank.ledger.v1 import ledger_store_pb2 as store
from bank_common import errors, validation
from bank_common.postings import DESCRIPTION_MAX, validate_posting
from db_service import convert
from db_service.batch import Batch
from db_service.commands.base import Command
from db_service.domain import rules
from db_service.domain.model import AccountRecord, EntryRecord, TransactionRecord


def _utc_date(micros: int) -> str:
    return dt.datetime.fromtimestamp(micros / 1_000_000, dt.UTC).date().isoformat()


class PostTransaction(Command):
    method = "PostTransaction"
    response_type = store.PostTransactionResponse

    def __init__(
        self, request: store.PostTransactionRequest, currencies: frozenset[str]
    ):
        super().__init__(request)
        self.posting = validate_posting(request, currencies)

    def account_ids(self) -> set[int]:
        return {self.posting.account_id, self.posting.counter_account_id} - {0}

    def external_refs(self) -> dict[str, str]:
        ref = self.posting.external_ref
        return {"transaction": ref} if ref else {}

    def execute(self, batch: Batch) -> store.PostTransactionResponse:
        posting = self.posting
        legs = self._legs(batch)
        for account, delta in legs:
            if not account.is_internal and not posting.imported:
                rules.check_funds(account, delta)
            rules.check_balance_range(account, delta)
        ref = posting.external_ref
        if ref and batch.external_ref_taken("transaction", ref):
            raise errors.ExternalRefTaken(
                f"external_ref {ref!r} is already used by another transaction: it was "
                "imported before; look it up with GetTransaction",
                external_ref=ref,
            )
        record = post(
            batch,
            legs,
            kind=posting.kind,
            description=posting.description or "",
            counterparty=(posting.counterparty_bank, posting.counterparty_account),
            value_date=posting.value_date,
            external_ref=ref,
            imported=posting.imported,
        )
        return store.PostTransactionResponse(
            transaction=convert.transaction_message(record, _currencies(batch, record)),
            commit_sequence=batch.last_seq,
        )

    def _legs(self, batch: Batch) -> list[tuple[AccountRecord, int]]:
        posting = self.posting
        if posting.kind == "TRANSFER":
            source = self._customer_account(batch, posting.account_id, "source")
            destination = self._customer_account(
                batch, posting.counter_account_id, "destination"
            )
            rules.check_transfer_currencies(source, destination)
            for account in (source, destination):
                rules.check_currency(account, posting.currency, "amount.currency_code")
            return [(source, -posting.amount), (destination, posting.amount)]
        account = self._customer_account(batch, posting.account_id, "")
        rules.check_currency(account, posting.currency, "amount.currency_code")
        direction, purpose = rules.BANK_SIDE[posting.kind]
        bank = batch.bank_account(posting.currency, purpose)
        amount = direction * posting.amount
        return [(account, amount), (bank, -amount)]

    def _customer_account(
        self, batch: Batch, account_id: int, role: str
    ) -> AccountRecord:
        account = batch.account(account_id, role)
        rules.check_customer_account(account, role)
        rules.check_postable(account, role)
        return account


def _currencies(batch: Batch, record: TransactionRecord) -> dict[int, str]:
    return batch.currency_of(entry.account_id for entry in record.entries)


def post(
    batch: Batch,
    legs: list[tuple[AccountRecord, int]],
    *,
    kind: str,
    description: str,
    counterparty: tuple[str | None, str | None] = (None, None),
    value_date: str | None = None,
    external_ref: str | None = None,
    imported: bool = False,
    reverses: int | None = None,
) -> TransactionRecord:
    """Stage a transaction whose legs are (account, signed amount) and sum to zero.

    The caller has checked every rule; this only assigns ids, computes the
    balance after each entry and stages the transaction and the balances.
    """
    if sum(delta for _, delta in legs) != 0:
        raise AssertionError(f"unbalanced legs for {kind}: {legs}")
    transaction_id = batch.new_transaction_id()
    entries = []
    updated = []
    for account, delta in legs:
        current = batch.account(account.account_id)
        entry = EntryRecord(
            entry_id=batch.new_entry_id(),
            transaction_id=transaction_id,
            account_id=current.account_id,
            amount=delta,
            balance_after=current.balance + delta,
        )
        entries.append(entry)
        updated.append(
            dataclasses.replace(
                current, balance=entry.balance_after, last_activity_us=batch.now_us
            )
        )
    record = TransactionRecord(
        transaction_id=transaction_id,
        kind=kind,
        description=description,
        counterparty_bank=counterparty[0],
        counterparty_account=counterparty[1],
        value_date=value_date or _utc_date(batch.now_us),
        posted_us=batch.now_us,
        external_ref=external_ref,
        imported=imported,
        change_seq=0,
        reverses_transaction_id=reverses,
        entries=tuple(entries),
    )
    record = batch.stage_transaction(record)
    for account in updated:
        batch.stage_account(account, "BALANCE_CHANGED")
    return record


class ReverseTransaction(Command):
    method = "ReverseTransaction"
    response_type = store.ReverseTransactionResponse

    def __init__(self, request: store.ReverseTransactionRequest):
        super().__init__(request)
        self.transaction_id = validation.positive_id(
            request.transaction_id, "transaction_id", "transaction"
        )
        self.description = validation.text(
            request.description, "description", DESCRIPTION_MAX
        )

    def execute(self, batch: Batch) -> store.ReverseTransactionResponse:
        original = batch.transaction(self.transaction_id)
        if original.kind == "REVERSAL":
            raise errors.FailedPrecondition(
                f"transaction {self.transaction_id} is itself a reversal: post a new "
                "transaction to redo the original instead",
                reason="CANNOT_REVERSE_REVERSAL",
                transaction_id=self.transaction_id,
            )
        if batch.is_reversed(self.transaction_id):
            raise errors.AlreadyReversed(
                f"transaction {self.transaction_id} has already been reversed: a "
                "transaction is reversed at most once, so post a new transaction "
                "if money must move again",
                transaction_id=self.transaction_id,
            )
        legs = []
        for entry in original.entries:
            account = batch.account(entry.account_id)
            if not account.is_internal:
                rules.check_postable(account)
                rules.check_funds(account, -entry.amount)
            rules.check_balance_range(account, -entry.amount)
            legs.append((account, -entry.amount))
        record = post(
            batch,
            legs,
            kind="REVERSAL",
            description=self.description
            or f"reversal of transaction {self.transaction_id}",
            counterparty=(original.counterparty_bank, original.counterparty_account),
            reverses=self.transaction_id,
        )
        return store.ReverseTransactionResponse(
            transaction=convert.transaction_message(record, _currencies(batch, record)),
            commit_sequence=batch.last_seq,
        )
