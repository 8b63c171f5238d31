"""The DuckDB database file: opening, migrating, transactions and read cursors.

One ``duckdb.connect`` per process. DuckDB connection objects are not
thread-safe, so every thread works on its own ``cursor()``: the writer
thread on one, each reader thread on one of its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import duckdb

from db_service.adapters import schema

log = logging.getLogger(__name__)

T = TypeVar("T")


@contextmanager
def transaction(cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one DuckDB transaction; roll back on any exception.

    Since DuckDB 2.0 an error inside a transaction aborts it, and a later
    COMMIT reports success while rolling everything back. So this helper
    commits only when the block raised nothing, and rolls back otherwise.
    """
    cursor.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        _rollback(cursor)
        raise
    try:
        cursor.execute("COMMIT")
    except BaseException:
        _rollback(cursor)
        raise


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.execute("ROLLBACK")
    except duckdb.Error as error:
        # Nothing left to roll back, e.g. when COMMIT itself failed.
        log.debug("rollback after failure reported: %s", error)


class Database:
    """The open database file, migrated to the current schema."""

    def __init__(self, path: str, *, reader_threads: int = 4):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        started = time.perf_counter()
        self.path = path
        self._connection = duckdb.connect(path)
        log.info("opened %s in %.0f ms", path, (time.perf_counter() - started) * 1000)
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(
            reader_threads, thread_name_prefix="ledger-read"
        )
        self._migrate()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a new cursor, for use by one thread only."""
        return self._connection.cursor()

    def _thread_cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.cursor()
        return cursor

    async def read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``work(cursor)`` on a reader thread and return its result.

        A single statement reads one committed snapshot. ``work`` that runs
        several statements wraps them in ``transaction`` to read one snapshot.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._readers, lambda: work(self._thread_cursor())
        )

    def checkpoint(self) -> None:
        self._connection.execute("CHECKPOINT")

    def close(self) -> None:
        self._readers.shutdown(wait=True)
        self._connection.close()

    def _migrate(self) -> None:
        """Apply pending migrations and the currency list in one transaction.

        The migrations table is created inside it too, so a file that cannot
        take the schema (another program's DuckDB file) is left as it was.
        """
        cursor = self.cursor()
        applied_now = []
        try:
            with transaction(cursor):
                cursor.execute(schema.MIGRATIONS_TABLE)
                applied = {
                    row[0]
                    for row in cursor.execute(
                        "SELECT version FROM schema_migrations"
                    ).fetchall()
                }
                for version, ddl in schema.MIGRATIONS:
                    if version in applied:
                        continue
                    cursor.execute(ddl)
                    cursor.execute(
                        "INSERT INTO schema_migrations VALUES (?, now())", [version]
                    )
                    applied_now.append(version)
                cursor.executemany(
                    "INSERT INTO currencies VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [list(row) for row in schema.CURRENCIES],
                )
        finally:
            cursor.close()
        for version in applied_now:
            log.info("applied schema migration %d", version)

    def currencies(self) -> list[tuple[str, int, str]]:
        cursor = self.cursor()
        try:
            return cursor.execute(
                "SELECT currency_code, minor_unit_exponent, name FROM currencies "
                "ORDER BY 1"
            ).fetchall()
        finally:
            cursor.close()
