"""SQL for accounts, their holders and the bank's own accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from db_service.adapters.bulk import Column, insert, update
from db_service.domain.model import AccountRecord

_SELECT = """
SELECT account_id, currency_code, account_type, status, nickname, overdraft_limit,
       balance, version, external_ref, epoch_us(opened_at), epoch_us(closed_at),
       epoch_us(updated_at), epoch_us(last_activity_at), change_seq
FROM accounts
"""

_MUTABLE = (
    Column("status", "VARCHAR"),
    Column("nickname", "VARCHAR"),
    Column("overdraft_limit", "BIGINT"),
    Column("balance", "BIGINT"),
    Column("version", "BIGINT"),
    Column("closed_at", "BIGINT", "make_timestamptz({})"),
    Column("updated_at", "BIGINT", "make_timestamptz({})"),
    Column("last_activity_at", "BIGINT", "make_timestamptz({})"),
    Column("change_seq", "BIGINT"),
)
_ALL = (
    Column("account_id", "BIGINT"),
    Column("currency_code", "VARCHAR"),
    Column("account_type", "VARCHAR"),
    Column("external_ref", "VARCHAR"),
    Column("opened_at", "BIGINT", "make_timestamptz({})"),
    *_MUTABLE,
)
_HOLDERS = (
    Column("account_id", "BIGINT"),
    Column("customer_id", "BIGINT"),
    Column("role", "VARCHAR"),
)


def _records(
    cursor: duckdb.DuckDBPyConnection, rows: list[tuple]
) -> list[AccountRecord]:
    holders = _holders(cursor, [row[0] for row in rows])
    return [AccountRecord(*row, holders=holders.get(row[0], ())) for row in rows]


def _holders(
    cursor: duckdb.DuckDBPyConnection, ids: Sequence[int]
) -> dict[int, tuple[tuple[int, str], ...]]:
    if not ids:
        return {}
    rows = cursor.execute(
        """
        SELECT account_id, customer_id, role FROM account_holders
        WHERE account_id IN (SELECT unnest(?::BIGINT[]))
        ORDER BY account_id, role DESC, customer_id
        """,
        [list(ids)],
    ).fetchall()
    holders: dict[int, list[tuple[int, str]]] = {}
    for account_id, customer_id, role in rows:
        holders.setdefault(account_id, []).append((customer_id, role))
    return {account_id: tuple(pairs) for account_id, pairs in holders.items()}


def load(
    cursor: duckdb.DuckDBPyConnection, ids: Iterable[int]
) -> dict[int, AccountRecord]:
    rows = cursor.execute(
        _SELECT + " WHERE account_id IN (SELECT unnest(?::BIGINT[]))", [list(ids)]
    ).fetchall()
    return {record.account_id: record for record in _records(cursor, rows)}


def find_by_ref(
    cursor: duckdb.DuckDBPyConnection, external_ref: str
) -> AccountRecord | None:
    rows = cursor.execute(
        _SELECT + " WHERE external_ref = ?", [external_ref]
    ).fetchall()
    records = _records(cursor, rows)
    return records[0] if records else None


def taken_refs(cursor: duckdb.DuckDBPyConnection, refs: Sequence[str]) -> set[str]:
    rows = cursor.execute(
        "SELECT external_ref FROM accounts WHERE external_ref IN (SELECT "
        "unnest(?::VARCHAR[]))",
        [list(refs)],
    ).fetchall()
    return {row[0] for row in rows}


def page(
    cursor: duckdb.DuckDBPyConnection, customer_id: int, after_id: int, limit: int
) -> list[AccountRecord]:
    """Accounts after ``after_id`` in id order; all accounts when customer_id is 0."""
    if customer_id:
        rows = cursor.execute(
            _SELECT
            + """
            WHERE account_id IN (
                SELECT account_id FROM account_holders WHERE customer_id = ?
            )
            AND account_id > ? ORDER BY account_id LIMIT ?
            """,
            [customer_id, after_id, limit],
        ).fetchall()
    else:
        rows = cursor.execute(
            _SELECT + " WHERE account_id > ? ORDER BY account_id LIMIT ?",
            [after_id, limit],
        ).fetchall()
    return _records(cursor, rows)


def max_id(cursor: duckdb.DuckDBPyConnection) -> int:
    return cursor.execute(
        "SELECT coalesce(max(account_id), 0) FROM accounts"
    ).fetchone()[0]


def bank_accounts(cursor: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """Map (currency_code, purpose) to the bank's own account id."""
    rows = cursor.execute(
        "SELECT currency_code, purpose, account_id FROM bank_accounts"
    ).fetchall()
    return {(currency, purpose): account_id for currency, purpose, account_id in rows}


def _mutable_values(record: AccountRecord) -> tuple:
    return (
        record.status,
        record.nickname,
        record.overdraft_limit,
        record.balance,
        record.version,
        record.closed_us,
        record.updated_us,
        record.last_activity_us,
        record.change_seq,
    )


def insert_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[AccountRecord]
) -> None:
    rows = [
        (
            record.account_id,
            record.currency_code,
            record.account_type,
            record.external_ref,
            record.opened_us,
            *_mutable_values(record),
        )
        for record in records
    ]
    insert(cursor, "accounts", _ALL, rows)
    holders = [
        (record.account_id, customer_id, role)
        for record in records
        for customer_id, role in record.holders
    ]
    insert(cursor, "account_holders", _HOLDERS, holders)


def update_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[AccountRecord]
) -> None:
    rows = [(record.account_id, *_mutable_values(record)) for record in records]
    update(cursor, "accounts", Column("account_id", "BIGINT"), _MUTABLE, rows)


def insert_bank_accounts(
    cursor: duckdb.DuckDBPyConnection, rows: Sequence[tuple[str, str, int]]
) -> None:
    """Insert (currency_code, purpose, account_id) rows."""
    columns = (
        Column("currency_code", "VARCHAR"),
        Column("purpose", "VARCHAR"),
        Column("account_id", "BIGINT"),
    )
    insert(cursor, "bank_accounts", columns, rows)
