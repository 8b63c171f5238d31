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


def delete_before(cursor: duckdb.DuckDBPyConnection, seq: int) -> int:
    """Delete events with a sequence below ``seq``; return how many went."""
    row = cursor.execute(
        "SELECT count(*) FROM change_log WHERE seq < ?", [seq]
    ).fetchone()
    cursor.execute("DELETE FROM change_log WHERE seq < ?", [seq])
    return row[0]
