"""Records of the ledger as the writer and the readers hold them in memory.

Money fields are ints of minor units. Times are ints of microseconds since
the Unix epoch, UTC. Optional text is None, never an empty string. Records
are immutable: a change builds a new record with ``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVE = "ACTIVE"
FROZEN = "FROZEN"
CLOSED = "CLOSED"
DELETED = "DELETED"
INTERNAL = "INTERNAL"
OWNER = "OWNER"
AUTHORIZED = "AUTHORIZED"


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    customer_id: int
    full_name: str
    email: str | None
    phone: str | None
    birth_date: str | None
    sex: str | None
    region: str | None
    status: str
    version: int
    external_ref: str | None
    created_us: int
    updated_us: int
    change_seq: int


@dataclass(frozen=True, slots=True)
class AccountRecord:
    account_id: int
    currency_code: str
    account_type: str
    status: str
    nickname: str | None
    overdraft_limit: int | None
    """None only on the bank's own accounts, which have no limit."""
    balance: int
    version: int
    external_ref: str | None
    opened_us: int
    closed_us: int | None
    updated_us: int
    last_activity_us: int | None
    change_seq: int
    holders: tuple[tuple[int, str], ...]
    """(customer_id, role) pairs, owners first."""

    @property
    def is_internal(self) -> bool:
        return self.account_type == INTERNAL


@dataclass(frozen=True, slots=True)
class EntryRecord:
    entry_id: int
    transaction_id: int
    account_id: int
    amount: int
    balance_after: int


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    transaction_id: int
    kind: str
    description: str
    counterparty_bank: str | None
    counterparty_account: str | None
    value_date: str
    posted_us: int
    external_ref: str | None
    imported: bool
    change_seq: int
    reverses_transaction_id: int | None
    entries: tuple[EntryRecord, ...]


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One change-log row. ``payload`` is the serialized entity message."""

    seq: int
    committed_us: int
    entity_type: str
    change_kind: str
    entity_id: int
    account_ids: tuple[int, ...]
    payload: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    request_id: str
    method: str
    request_hash: bytes
    response: bytes
    commit_seq: int
