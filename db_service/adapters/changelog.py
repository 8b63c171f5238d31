"""SQL for the change log, the durable history behind the change feed."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from db_service.adapters.bulk import Column, insert
from db_service.domain.model import ChangeRecord

_COLUMNS = (
    Column("seq", "BIGINT"),
    Column("committed_at", "BIGINT", "make_timestamptz({})"),
    Column("entity_type", "VARCHAR"),
    Column("change_kind", "VARCHAR"),
    Column("entity_id", "BIGINT"),
    Column("account_ids", "BIGINT[]"),
    Column("payload", "BLOB"),
)


def insert_all(
    cursor: duckdb.DuckDBPyConnection, records: Sequence[ChangeRecord]
) -> None:
    rows = [
        (
            r.seq,
            r.committed_us,
            r.entity_type,
            r.change_kind,
            r.entity_id,
            list(r.account_ids),
            r.payload,
        )
        for r in records
    ]
    insert(cursor, "change_log", _COLUMNS, rows)


def bounds(cursor: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Return (oldest, latest) retained sequence, (0, 0) when the log is empty."""
    oldest, latest = cursor.execute(
        "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM change_log"
    ).fetchone()
    return oldest, latest


def read_after(
    cursor: duckdb.DuckDBPyConnection,
    after_seq: int,
    up_to_seq: int,
    limit: int,
    entity_types: Sequence[str],
    account_id: int,
) -> list[ChangeRecord]:
    """Read events with after_seq < seq <= up_to_seq that pass the filters, in order."""
    rows = cursor.execute(
        """
        SELECT seq, epoch_us(committed_at), entity_type, change_kind, entity_id,
               account_ids, payload
        FROM change_log
        WHERE seq > ? AND seq <= ?
          AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], entity_type))
          AND (? = 0 OR list_contains(account_ids, ?))
        ORDER BY seq
        LIMIT ?
        """,
        [
            after_seq,
            up_to_seq,
            list(entity_types),
            list(entity_types),
            account_id,
            account_id,
            limit,
        ],
    ).fetchall()
    return [
        ChangeRecord(seq, committed, etype, kind, entity_id, tuple(ids), bytes(payload))
        for seq, committed, etype, kind, entity_id, ids, payload in rows
    ]


def delete_older_than(cursor: duckdb.DuckDBPyConnection, cutoff_us: int) -> int:
    """Delete events committed before ``cutoff_us``; return how many went.

    The newest event always stays, so the next sequence can still be derived
    from the table after a restart.
    """
    condition = (
        "committed_at < make_timestamptz(?) AND seq < (SELECT max(seq) FROM change_log)"
    )
    count = cursor.execute(
        f"SELECT count(*) FROM change_log WHERE {condition}", [cutoff_us]
    ).fetchone()[0]
    if count:
        cursor.execute(f"DELETE FROM change_log WHERE {condition}", [cutoff_us])
    return count
