"""SQL for the customers table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from db_service.adapters.bulk import Column, insert, update
from db_service.domain.model import CustomerRecord

_SELECT = """
SELECT customer_id, full_name, email, phone, birth_date::VARCHAR, sex, region, status,
       version, external_ref, epoch_us(created_at), epoch_us(updated_at), change_seq
FROM customers
"""

_MUTABLE = (
    Column("full_name", "VARCHAR"),
    Column("email", "VARCHAR"),
    Column("phone", "VARCHAR"),
    Column("region", "VARCHAR"),
    Column("status", "VARCHAR"),
    Column("version", "BIGINT"),
    Column("updated_at", "BIGINT", "make_timestamptz({})"),
    Column("change_seq", "BIGINT"),
)
_ALL = (
    Column("customer_id", "BIGINT"),
    Column("birth_date", "VARCHAR", "CAST({} AS DATE)"),
    Column("sex", "VARCHAR"),
    Column("external_ref", "VARCHAR"),
    Column("created_at", "BIGINT", "make_timestamptz({})"),
    *_MUTABLE,
)


def _record(row: tuple) -> CustomerRecord:
    return CustomerRecord(*row)


def load(
    cursor: duckdb.DuckDBPyConnection, ids: Iterable[int]
) -> dict[int, CustomerRecord]:
    rows = cursor.execute(
        _SELECT + " WHERE customer_id IN (SELECT unnest(?::BIGINT[]))", [list(ids)]
    ).fetchall()
    return {row[0]: _record(row) for row in rows}


def find_by_ref(
    cursor: duckdb.DuckDBPyConnection, external_ref: str
) -> CustomerRecord | None:
    rows = cursor.execute(
        _SELECT + " WHERE external_ref = ?", [external_ref]
    ).fetchall()
    return _record(rows[0]) if rows else None


def taken_refs(cursor: duckdb.DuckDBPyConnection, refs: Sequence[str]) -> set[str]:
    rows = cursor.execute(
        "SELECT external_ref FROM customers WHERE external_ref IN (SELECT "
        "unnest(?::VARCHAR[]))",
        [list(refs)],
    ).fetchall()
    return {row[0] for row in rows}


def page(
    cursor: duckdb.DuckDBPyConnection, after_id: int, limit: int
) -> list[CustomerRecord]:
    rows = cursor.execute(
        _SELECT + " WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
        [after_id, limit],
    ).fetchall()
    return [_record(row) for row in rows]


def count_open_accounts(cursor: duckdb.DuckDBPyConnection, customer_id: int) -> int:
    """Count accounts, not closed, that the customer holds in any role."""
    row = cursor.execute(
        """
        SELECT count(*) FROM account_holders h JOIN accounts a USING (account_id)
        WHERE h.customer_id = ? AND a.status <> 'CLOSED'
        """,
        [customer_id],
    ).fetchone()
    return row[0]


def max_id(cursor: duckdb.DuckDBPyConnection) -> int:
    return cursor.execute(
        "SELECT coalesce(max(customer_id), 0) FROM customers"
    ).fetchone()[0]


def _full_row(record: CustomerRecord) -> tuple:
    return (
        record.customer_id,
        record.birth_date,
        record.sex,
        record.external_ref,
        record.created_us,
        *_mutable_values(record),
    )


def _mutable_values(record: CustomerRecord) -> tuple:
    return (
        record.full_name,
        record.email,
        record.phone,
        record.region,
        record.status,
        record.version,
        record.updated_us,
        record.change_seq,
    )


def insert_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[CustomerRecord]
) -> None:
    insert(cursor, "customers", _ALL, [_full_row(record) for record in records])


def update_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[CustomerRecord]
) -> None:
    rows = [(record.customer_id, *_mutable_values(record)) for record in records]
    update(cursor, "customers", Column("customer_id", "BIGINT"), _MUTABLE, rows)
