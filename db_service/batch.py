"""The unit of work of one group commit.

The writer runs several commands against one ``Batch``. A batch reads the
committed state through the writer's cursor, overlays the changes that
earlier commands of the same batch staged, assigns ids and change-feed
sequences, and finally writes everything with a few set-based statements in
one DuckDB transaction. Every staged change of an entity appends one change
event, so the change log and the data commit together.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Iterable

import duckdb

from bank_common import errors
from db_service import convert
from db_service.adapters import accounts as accounts_sql
from db_service.adapters import changelog as changelog_sql
from db_service.adapters import customers as customers_sql
from db_service.adapters import idempotency as idempotency_sql
from db_service.adapters import transactions as transactions_sql
from db_service.domain.model import (
    CLOSED,
    AccountRecord,
    ChangeRecord,
    CustomerRecord,
    IdempotencyRecord,
    TransactionRecord,
)


@dataclasses.dataclass
class Counters:
    """The next free id of each kind, and the next change-feed sequence."""

    customer_id: int
    account_id: int
    transaction_id: int
    entry_id: int
    seq: int

    @classmethod
    def load(cls, cursor: duckdb.DuckDBPyConnection) -> Counters:
        max_transaction, max_entry = transactions_sql.max_ids(cursor)
        _, latest_seq = changelog_sql.bounds(cursor)
        return cls(
            customer_id=customers_sql.max_id(cursor) + 1,
            account_id=accounts_sql.max_id(cursor) + 1,
            transaction_id=max_transaction + 1,
            entry_id=max_entry + 1,
            seq=latest_seq + 1,
        )


class AccountCache:
    """Committed account records, least recently used evicted first.

    Only the writer changes accounts, so an entry stays correct until the
    writer replaces it after its next commit of that account.
    """

    def __init__(self, capacity: int):
        self._capacity = capacity
        self._records: OrderedDict[int, AccountRecord] = OrderedDict()

    def get(self, account_id: int) -> AccountRecord | None:
        record = self._records.get(account_id)
        if record is not None:
            self._records.move_to_end(account_id)
        return record

    def put_all(self, records: Iterable[AccountRecord]) -> None:
        for record in records:
            self._records[record.account_id] = record
            self._records.move_to_end(record.account_id)
        while len(self._records) > self._capacity:
            self._records.popitem(last=False)

    def clear(self) -> None:
        self._records.clear()


# The query that returns which of some external references an entity type
# already uses.
_TAKEN_REFS = {
    "customer": customers_sql.taken_refs,
    "account": accounts_sql.taken_refs,
    "transaction": transactions_sql.taken_refs,
}


class Batch:
    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        counters: Counters,
        cache: AccountCache,
        bank_accounts: dict[tuple[str, str], int],
        now_us: int,
    ):
        self.cursor = cursor
        self.counters = dataclasses.replace(counters)
        self.now_us = now_us
        self._cache = cache
        self.bank_accounts = dict(bank_accounts)
        self._accounts: dict[int, AccountRecord] = {}
        self._customers: dict[int, CustomerRecord] = {}
        self._new_accounts: set[int] = set()
        self._new_customers: set[int] = set()
        self._changed_accounts: set[int] = set()
        self._changed_customers: set[int] = set()
        self._new_bank_accounts: list[tuple[str, str, int]] = []
        self._refs: dict[str, set[str]] = {
            "customer": set(),
            "account": set(),
            "transaction": set(),
        }
        self._reversed: set[int] = set()
        self.transactions: list[TransactionRecord] = []
        self.events: list[ChangeRecord] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self._stored_idempotency: dict[str, IdempotencyRecord] = {}
        self._prefetched_request_ids: set[str] = set()
        self._stored_customers: dict[int, CustomerRecord] = {}
        self._prefetched_customer_ids: set[int] = set()
        self._stored_refs: dict[str, set[str]] = {}
        self._prefetched_refs: dict[str, set[str]] = {}

    # Reads: the batch's own staged state first, then the committed state.

    def prefetch(
        self,
        request_ids: list[str],
        account_ids: set[int],
        customer_ids: set[int] = frozenset(),
        external_refs: dict[str, set[str]] | None = None,
    ) -> None:
        """Load in one query per kind what the batch's commands will read anyway.

        ``external_refs`` maps an entity type ("customer", "account",
        "transaction") to references the commands will claim. Reads of
        anything not prefetched still query the database one at a time.
        """
        if request_ids:
            self._stored_idempotency = idempotency_sql.load(self.cursor, request_ids)
            self._prefetched_request_ids.update(request_ids)
        missing = [i for i in account_ids if self._cache.get(i) is None]
        if missing:
            self._cache.put_all(accounts_sql.load(self.cursor, missing).values())
        if customer_ids:
            self._stored_customers = customers_sql.load(self.cursor, customer_ids)
            self._prefetched_customer_ids.update(customer_ids)
        for entity, refs in (external_refs or {}).items():
            if refs:
                self._stored_refs[entity] = _TAKEN_REFS[entity](self.cursor, list(refs))
                self._prefetched_refs[entity] = set(refs)

    def previous_result(self, request_id: str) -> IdempotencyRecord | None:
        staged = self.idempotency.get(request_id)
        if staged is not None:
            return staged
        if request_id in self._prefetched_request_ids:
            return self._stored_idempotency.get(request_id)
        return idempotency_sql.load(self.cursor, [request_id]).get(request_id)

    def account(self, account_id: int, role: str = "") -> AccountRecord:
        record = self._accounts.get(account_id) or self._cache.get(account_id)
        if record is None:
            record = accounts_sql.load(self.cursor, [account_id]).get(account_id)
            if record is not None:
                self._cache.put_all([record])
        if record is None:
            label = f"{role} account" if role else "account"
            raise errors.AccountNotFound(
                f"{label} {account_id} does not exist: check the id, or look the "
                "account "
                "up with ListAccounts",
                account_id=account_id,
            )
        return record

    def bank_account(self, currency_code: str, purpose: str) -> AccountRecord:
        return self.account(self.bank_accounts[(currency_code, purpose)])

    def customer(self, customer_id: int, field: str = "customer_id") -> CustomerRecord:
        record = self._customers.get(customer_id)
        if record is None and customer_id in self._prefetched_customer_ids:
            record = self._stored_customers.get(customer_id)
        elif record is None:
            record = customers_sql.load(self.cursor, [customer_id]).get(customer_id)
        if record is None:
            raise errors.CustomerNotFound(
                f"{field} {customer_id} does not exist: check the id, or find the "
                "customer "
                "with ListCustomers",
                customer_id=customer_id,
            )
        return record

    def open_account_ids(self, customer_id: int) -> list[int]:
        """Ids of accounts, not closed, that the customer holds in any role."""
        rows = self.cursor.execute(
            """
            SELECT a.account_id
            FROM account_holders h JOIN accounts a USING (account_id)
            WHERE h.customer_id = ? AND a.status <> 'CLOSED'
            """,
            [customer_id],
        ).fetchall()
        candidates = {row[0] for row in rows}
        candidates.update(
            account_id
            for account_id in self._new_accounts
            if any(
                holder == customer_id
                for holder, _ in self._accounts[account_id].holders
            )
        )
        return sorted(i for i in candidates if self.account(i).status != CLOSED)

    def external_ref_taken(self, entity: str, ref: str) -> bool:
        if ref in self._refs[entity]:
            return True
        if ref in self._prefetched_refs.get(entity, ()):
            return ref in self._stored_refs[entity]
        return bool(_TAKEN_REFS[entity](self.cursor, [ref]))

    def transaction(self, transaction_id: int) -> TransactionRecord:
        for staged in self.transactions:
            if staged.transaction_id == transaction_id:
                return staged
        record = transactions_sql.load(self.cursor, transaction_id)
        if record is None:
            raise errors.TransactionNotFound(
                f"transaction {transaction_id} does not exist: check the id",
                transaction_id=transaction_id,
            )
        return record

    def is_reversed(self, transaction_id: int) -> bool:
        if transaction_id in self._reversed:
            return True
        return bool(transactions_sql.reversed_ids(self.cursor, [transaction_id]))

    def currency_of(self, account_ids: Iterable[int]) -> dict[int, str]:
        return {i: self.account(i).currency_code for i in account_ids}

    # Ids and staging. Nothing below raises a LedgerError: commands check
    # every rule first and stage only once the whole request is accepted.

    def new_customer_id(self) -> int:
        value = self.counters.customer_id
        self.counters.customer_id += 1
        return value

    def new_account_id(self) -> int:
        value = self.counters.account_id
        self.counters.account_id += 1
        return value

    def new_transaction_id(self) -> int:
        value = self.counters.transaction_id
        self.counters.transaction_id += 1
        return value

    def new_entry_id(self) -> int:
        value = self.counters.entry_id
        self.counters.entry_id += 1
        return value

    @property
    def last_seq(self) -> int:
        return self.counters.seq - 1

    def _next_seq(self) -> int:
        value = self.counters.seq
        self.counters.seq += 1
        return value

    def stage_customer(
        self, record: CustomerRecord, change_kind: str, *, created: bool = False
    ) -> CustomerRecord:
        seq = self._next_seq()
        record = dataclasses.replace(record, change_seq=seq)
        self._customers[record.customer_id] = record
        if created:
            self._new_customers.add(record.customer_id)
            if record.external_ref:
                self._refs["customer"].add(record.external_ref)
        else:
            self._changed_customers.add(record.customer_id)
        payload = convert.customer_message(record).SerializeToString()
        self._event(seq, "CUSTOMER", change_kind, record.customer_id, (), payload)
        return record

    def stage_account(
        self, record: AccountRecord, change_kind: str, *, created: bool = False
    ) -> AccountRecord:
        seq = self._next_seq()
        record = dataclasses.replace(record, change_seq=seq)
        self._accounts[record.account_id] = record
        if created:
            self._new_accounts.add(record.account_id)
            if record.external_ref:
                self._refs["account"].add(record.external_ref)
        elif record.account_id not in self._new_accounts:
            self._changed_accounts.add(record.account_id)
        payload = convert.account_message(record).SerializeToString()
        self._event(
            seq,
            "ACCOUNT",
            change_kind,
            record.account_id,
            (record.account_id,),
            payload,
        )
        return record

    def stage_bank_account(
        self, currency_code: str, purpose: str, account_id: int
    ) -> None:
        self.bank_accounts[(currency_code, purpose)] = account_id
        self._new_bank_accounts.append((currency_code, purpose, account_id))

    def stage_transaction(self, record: TransactionRecord) -> TransactionRecord:
        seq = self._next_seq()
        record = dataclasses.replace(record, change_seq=seq)
        self.transactions.append(record)
        if record.external_ref:
            self._refs["transaction"].add(record.external_ref)
        if record.reverses_transaction_id is not None:
            self._reversed.add(record.reverses_transaction_id)
        account_ids = tuple(entry.account_id for entry in record.entries)
        message = convert.transaction_message(record, self.currency_of(account_ids))
        self._event(
            seq,
            "TRANSACTION",
            "POSTED",
            record.transaction_id,
            account_ids,
            message.SerializeToString(),
        )
        return record

    def stage_result(self, record: IdempotencyRecord) -> None:
        self.idempotency[record.request_id] = record

    def _event(
        self,
        seq: int,
        entity_type: str,
        change_kind: str,
        entity_id: int,
        account_ids: tuple[int, ...],
        payload: bytes,
    ) -> None:
        self.events.append(
            ChangeRecord(
                seq,
                self.now_us,
                entity_type,
                change_kind,
                entity_id,
                account_ids,
                payload,
            )
        )

    # Writing.

    def is_empty(self) -> bool:
        return not self.events and not self.idempotency

    def write(self) -> None:
        """Write every staged change; the caller wraps this in one transaction."""
        cursor = self.cursor
        customers_sql.insert_all(
            cursor, [self._customers[i] for i in sorted(self._new_customers)]
        )
        customers_sql.update_all(
            cursor, [self._customers[i] for i in sorted(self._changed_customers)]
        )
        accounts_sql.insert_all(
            cursor, [self._accounts[i] for i in sorted(self._new_accounts)]
        )
        accounts_sql.update_all(
            cursor, [self._accounts[i] for i in sorted(self._changed_accounts)]
        )
        accounts_sql.insert_bank_accounts(cursor, self._new_bank_accounts)
        transactions_sql.insert_all(cursor, self.transactions)
        idempotency_sql.insert_all(cursor, list(self.idempotency.values()), self.now_us)
        # The change log goes last, stamped just before its insert, so an
        # event's commit_time is within one statement and COMMIT of the commit.
        committed_us = time.time_ns() // 1000
        self.events = [
            dataclasses.replace(event, committed_us=committed_us)
            for event in self.events
        ]
        changelog_sql.insert_all(cursor, self.events)

    def committed(self) -> None:
        """Publish the batch's account states to the writer's cache after COMMIT."""
        self._cache.put_all(self._accounts.values())
