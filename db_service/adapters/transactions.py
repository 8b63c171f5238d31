"""SQL for transactions, their entries, reversals and statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from db_service.adapters.bulk import Column, insert
from db_service.domain.model import EntryRecord, TransactionRecord

_TRANSACTIONS = (
    Column("transaction_id", "BIGINT"),
    Column("kind", "VARCHAR"),
    Column("description", "VARCHAR"),
    Column("counterparty_bank", "VARCHAR"),
    Column("counterparty_account", "VARCHAR"),
    Column("value_date", "VARCHAR", "CAST({} AS DATE)"),
    Column("posted_at", "BIGINT", "make_timestamptz({})"),
    Column("external_ref", "VARCHAR"),
    Column("imported", "BOOLEAN"),
    Column("change_seq", "BIGINT"),
)
_ENTRIES = (
    Column("entry_id", "BIGINT"),
    Column("transaction_id", "BIGINT"),
    Column("account_id", "BIGINT"),
    Column("amount", "BIGINT"),
    Column("balance_after", "BIGINT"),
)
_REVERSALS = (
    Column("reversal_transaction_id", "BIGINT"),
    Column("reversed_transaction_id", "BIGINT"),
)

_SELECT = """
SELECT t.transaction_id, t.kind, t.description, t.counterparty_bank,
       t.counterparty_account, t.value_date::VARCHAR, epoch_us(t.posted_at),
       t.external_ref, t.imported, t.change_seq, r.reversed_transaction_id
FROM transactions t
LEFT JOIN reversals r ON r.reversal_transaction_id = t.transaction_id
"""


@dataclass(frozen=True, slots=True)
class StatementRow:
    entry_id: int
    transaction_id: int
    kind: str
    amount: int
    balance_after: int
    description: str
    counterparty_bank: str | None
    counterparty_account: str | None
    value_date: str
    posted_us: int
    counter_account_id: int | None


def insert_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[TransactionRecord]
) -> None:
    """Insert transactions, then their entries and reversal links."""
    rows = [
        (
            r.transaction_id,
            r.kind,
            r.description,
            r.counterparty_bank,
            r.counterparty_account,
            r.value_date,
            r.posted_us,
            r.external_ref,
            r.imported,
            r.change_seq,
        )
        for r in records
    ]
    insert(cursor, "transactions", _TRANSACTIONS, rows)
    entries = [
        (e.entry_id, e.transaction_id, e.account_id, e.amount, e.balance_after)
        for r in records
        for e in r.entries
    ]
    insert(cursor, "entries", _ENTRIES, entries)
    reversals = [
        (r.transaction_id, r.reverses_transaction_id)
        for r in records
        if r.reverses_transaction_id is not None
    ]
    insert(cursor, "reversals", _REVERSALS, reversals)


def _with_entries(
    cursor: duckdb.DuckDBPyConnection, rows: list[tuple]
) -> list[TransactionRecord]:
    if not rows:
        return []
    entry_rows = cursor.execute(
        """
        SELECT entry_id, transaction_id, account_id, amount, balance_after FROM entries
        WHERE transaction_id IN (SELECT unnest(?::BIGINT[])) ORDER BY entry_id
        """,
        [[row[0] for row in rows]],
    ).fetchall()
    entries: dict[int, list[EntryRecord]] = {}
    for entry_row in entry_rows:
        entries.setdefault(entry_row[1], []).append(EntryRecord(*entry_row))
    return [
        TransactionRecord(
            *row[:10],
            reverses_transaction_id=row[10],
            entries=tuple(entries.get(row[0], ())),
        )
        for row in rows
    ]


def load(
    cursor: duckdb.DuckDBPyConnection, transaction_id: int
) -> TransactionRecord | None:
    rows = cursor.execute(
        _SELECT + " WHERE t.transaction_id = ?", [transaction_id]
    ).fetchall()
    records = _with_entries(cursor, rows)
    return records[0] if records else None


def find_by_ref(
    cursor: duckdb.DuckDBPyConnection, external_ref: str
) -> TransactionRecord | None:
    rows = cursor.execute(
        _SELECT + " WHERE t.external_ref = ?", [external_ref]
    ).fetchall()
    records = _with_entries(cursor, rows)
    return records[0] if records else None


def taken_refs(cursor: duckdb.DuckDBPyConnection, refs: Sequence[str]) -> set[str]:
    rows = cursor.execute(
        "SELECT external_ref FROM transactions "
        "WHERE external_ref IN (SELECT unnest(?::VARCHAR[]))",
        [list(refs)],
    ).fetchall()
    return {row[0] for row in rows}


def reversed_ids(cursor: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> set[int]:
    """Return which of ``ids`` already have a reversal."""
    rows = cursor.execute(
        "SELECT reversed_transaction_id FROM reversals "
        "WHERE reversed_transaction_id IN (SELECT unnest(?::BIGINT[]))",
        [list(ids)],
    ).fetchall()
    return {row[0] for row in rows}


def statement(
    cursor: duckdb.DuckDBPyConnection,
    account_id: int,
    after_entry_id: int,
    start_date: str | None,
    end_date: str | None,
    limit: int,
) -> list[StatementRow]:
    rows = cursor.execute(
        """
        SELECT e.entry_id, e.transaction_id, t.kind, e.amount, e.balance_after,
               t.description, t.counterparty_bank, t.counterparty_account,
               t.value_date::VARCHAR, epoch_us(t.posted_at),
               (SELECT min(o.account_id) FROM entries o
                WHERE o.transaction_id = e.transaction_id
                  AND o.account_id <> e.account_id)
        FROM entries e JOIN transactions t ON t.transaction_id = e.transaction_id
        WHERE e.account_id = ? AND e.entry_id > ?
          AND (?::DATE IS NULL OR t.value_date >= ?::DATE)
          AND (?::DATE IS NULL OR t.value_date <= ?::DATE)
        ORDER BY e.entry_id
        LIMIT ?
        """,
        [account_id, after_entry_id, start_date, start_date, end_date, end_date, limit],
    ).fetchall()
    return [StatementRow(*row) for row in rows]


def max_ids(cursor: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Return the largest transaction id and entry id in use (0 when empty)."""
    return cursor.execute(
        "SELECT (SELECT coalesce(max(transaction_id), 0) FROM transactions), "
        "(SELECT coalesce(max(entry_id), 0) FROM entries)"
    ).fetchone()


def currencies_of(
    cursor: duckdb.DuckDBPyConnection, account_ids: Sequence[int]
) -> dict[int, str]:
    rows = cursor.execute(
        "SELECT account_id, currency_code FROM accounts "
        "WHERE account_id IN (SELECT unnest(?::BIGINT[]))",
        [list(account_ids)],
    ).fetchall()
    return dict(rows)
