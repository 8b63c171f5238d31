"""SQL for idempotency records: the first result of every request id."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from db_service.adapters.bulk import Column, insert
from db_service.domain.model import IdempotencyRecord

_COLUMNS = (
    Column("request_id", "VARCHAR"),
    Column("method", "VARCHAR"),
    Column("request_hash", "BLOB"),
    Column("response", "BLOB"),
    Column("commit_seq", "BIGINT"),
    Column("created_at", "BIGINT", "make_timestamptz({})"),
)


def load(
    cursor: duckdb.DuckDBPyConnection, request_ids: Sequence[str]
) -> dict[str, IdempotencyRecord]:
    rows = cursor.execute(
        """
        SELECT request_id, method, request_hash, response, commit_seq
        FROM idempotency_keys
        WHERE request_id IN (SELECT unnest(?::VARCHAR[]))
        """,
        [list(request_ids)],
    ).fetchall()
    return {
        row[0]: IdempotencyRecord(row[0], row[1], bytes(row[2]), bytes(row[3]), row[4])
        for row in rows
    }


def insert_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[IdempotencyRecord], now_us: int
) -> None:
    rows = [
        (r.request_id, r.method, r.request_hash, r.response, r.commit_seq, now_us)
        for r in records
    ]
    insert(cursor, "idempotency_keys", _COLUMNS, rows)
