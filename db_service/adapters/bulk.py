"""Set-based INSERT and UPDATE from Python lists, one statement per table.

DuckDB charges about 0.5 ms per statement from Python, and ``executemany``
runs one statement per row, so the writer sends each table's rows of a whole
batch as one list per column and unnests them in SQL. Measured with duckdb
2.0.1 on the 2-core development machine: one statement inserts 1 row in
about 1.2 ms and 1,000 rows in about 4 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Column:
    """A target column and the DuckDB type of the list that carries its values."""

    name: str
    list_type: str
    expression: str = "{}"
    """SQL applied to the unnested value, e.g. "make_timestamptz({})"."""


def _relation(columns: Sequence[Column]) -> str:
    parts = [
        f"{column.expression.format(f'unnest(?::{column.list_type}[])')} AS "
        f"{column.name}"
        for column in columns
    ]
    return "SELECT " + ", ".join(parts)


def _columns_of(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    return [[row[index] for row in rows] for index in range(width)]


def insert(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) with one statement."""
    if not rows:
        return
    names = ", ".join(column.name for column in columns)
    cursor.execute(
        f"INSERT INTO {table} ({names}) {_relation(columns)}",
        _columns_of(rows, len(columns)),
    )


def update(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    key: Column,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
) -> None:
    """Set ``columns`` of the rows whose ``key`` is the first value of each row.

    Keys must be unique within ``rows``: DuckDB applies one arbitrary source
    row per target row when a key repeats.
    """
    if not rows:
        return
    assignments = ", ".join(
        f"{column.name} = changes.{column.name}" for column in columns
    )
    cursor.execute(
        f"UPDATE {table} SET {assignments} FROM ({_relation([key, *columns])}) AS "
        "changes "
        f"WHERE {table}.{key.name} = changes.{key.name}",
        _columns_of(rows, len(columns) + 1),
    )
