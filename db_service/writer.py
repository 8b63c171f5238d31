"""The single writer: one thread that owns every write to the database.

Requests wait in a queue. The writer takes all that are waiting (up to
``max_batch``), runs them against one ``Batch`` and commits the batch in one
DuckDB transaction (group commit), then responds to each request on its own.
Serialising writes this way means DuckDB never sees two writers, so no
write-write conflicts, and a busy ledger commits many requests for the
price of one.

If the batch's commit fails, the writer rolls back and runs each request of
the batch again in a transaction of its own, so one bad request cannot fail
the others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import duckdb
from google.protobuf.message import Message
from prometheus_client import Counter, Gauge, Histogram

from bank_common import errors
from db_service.adapters import accounts as accounts_sql
from db_service.adapters.database import Database, transaction
from db_service.batch import AccountCache, Batch, Counters
from db_service.commands.accounts import create_missing_bank_accounts
from db_service.commands.base import Command
from db_service.domain.model import ChangeRecord, IdempotencyRecord

log = logging.getLogger(__name__)

QUEUE_DEPTH = Gauge(
    "ledger_writer_queue_depth", "Write requests waiting for the writer."
)
BATCH_SIZE = Histogram(
    "ledger_writer_batch_size",
    "Requests committed together in one DuckDB transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
COMMIT_SECONDS = Histogram(
    "ledger_writer_commit_seconds",
    "Time to run and commit one batch, in seconds.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
BATCH_FAILURES = Counter(
    "ledger_writer_batch_failures_total",
    "Batches whose commit failed and whose requests were retried one by one.",
)

_STOP = object()
T = TypeVar("T")


@dataclass
class _Pending:
    command: Command
    future: concurrent.futures.Future
    enqueued: float


@dataclass
class _Maintenance:
    """Work on the database that is not a request, run alone in the writer."""

    work: Callable[[duckdb.DuckDBPyConnection], object]
    future: concurrent.futures.Future


class LedgerWriter:
    """Runs write commands in one thread and commits them in batches."""

    def __init__(
        self,
        database: Database,
        on_commit: Callable[[list[ChangeRecord]], None],
        *,
        max_batch: int = 512,
        account_cache_size: int = 100_000,
    ):
        self._database = database
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cursor = database.cursor()
        self._cache = AccountCache(account_cache_size)
        self._counters = Counters.load(self._cursor)
        self._bank_accounts = accounts_sql.bank_accounts(self._cursor)
        self._thread = threading.Thread(
            target=self._run, name="ledger-writer", daemon=True
        )
        self._stopping = False

    @property
    def latest_sequence(self) -> int:
        """The sequence of the last committed change event."""
        return self._counters.seq - 1

    def start(self, currencies: list[str]) -> None:
        """Create missing bank accounts, then start taking requests."""
        batch = self._new_batch()
        created = create_missing_bank_accounts(batch, currencies)
        if created:
            self._commit(batch)
            log.info("opened %d bank accounts", created)
        self._thread.start()

    async def submit(self, command: Command) -> Message:
        """Queue a command and return its response once committed."""
        if self._stopping:
            raise errors.ShuttingDown(
                "the ledger store is shutting down: retry with the same request_id "
                "once it is back"
            )
        future: concurrent.futures.Future = concurrent.futures.Future()
        # Count before queueing: the writer thread may take the request and
        # decrement the gauge before put() returns.
        QUEUE_DEPTH.inc()
        self._queue.put(_Pending(command, future, time.perf_counter()))
        return await asyncio.wrap_future(future)

    async def run_maintenance(
        self, work: Callable[[duckdb.DuckDBPyConnection], T]
    ) -> T:
        """Run ``work(cursor)`` in the writer thread, in a transaction of its own."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put(_Maintenance(work, future))
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        """Finish the queued requests, then stop the thread."""
        self._stopping = True
        self._queue.put(_STOP)
        self._thread.join()
        self._cursor.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            if isinstance(first, _Maintenance):
                self._maintain(first)
                continue
            pending = [first]
            held_back = None
            while len(pending) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, _Pending):
                    held_back = item
                    break
                pending.append(item)
            QUEUE_DEPTH.dec(len(pending))
            # A caller that gave up (deadline, disconnect) cancels its future
            # while the request waits. Such requests are dropped here, and the
            # rest are marked running, so no caller can cancel a future that
            # the writer will resolve.
            pending = [p for p in pending if p.future.set_running_or_notify_cancel()]
            if pending:
                self._process_guarded(pending)
            if held_back is _STOP:
                return
            if held_back is not None:
                self._maintain(held_back)

    def _process_guarded(self, pending: list[_Pending]) -> None:
        """Process a batch; a bug in it fails the batch, never the writer thread.

        A dead writer thread would leave every later write waiting forever.
        """
        try:
            self._process(pending)
        except Exception:
            log.exception(
                "the writer failed on a batch of %d requests; failing them with an "
                "internal error",
                len(pending),
            )
            self._reload_state()
            for item in pending:
                if not item.future.done():
                    item.future.set_exception(_internal_error(item.command))

    def _reload_state(self) -> None:
        """Forget cached state and read ids and sequences back from the database."""
        self._cache.clear()
        try:
            self._counters = Counters.load(self._cursor)
            self._bank_accounts = accounts_sql.bank_accounts(self._cursor)
        except Exception:
            log.exception("reloading the writer's counters failed")

    def _maintain(self, item: _Maintenance) -> None:
        if not item.future.set_running_or_notify_cancel():
            return
        try:
            with transaction(self._cursor):
                result = item.work(self._cursor)
        except Exception as error:
            log.exception("maintenance work failed")
            item.future.set_exception(error)
            return
        item.future.set_result(result)

    def _new_batch(self) -> Batch:
        return Batch(
            self._cursor,
            self._counters,
            self._cache,
            self._bank_accounts,
            time.time_ns() // 1000,
        )

    def _process(self, pending: list[_Pending]) -> None:
        started = time.perf_counter()
        batch = self._new_batch()
        external_refs: dict[str, set[str]] = {}
        for item in pending:
            for entity, ref in item.command.external_refs().items():
                external_refs.setdefault(entity, set()).add(ref)
        batch.prefetch(
            [p.command.request_id for p in pending],
            set().union(*(p.command.account_ids() for p in pending)),
            set().union(*(p.command.customer_ids() for p in pending)),
            external_refs,
        )
        outcomes = [self._execute(batch, p.command) for p in pending]
        if any(outcome is _POISONED for outcome in outcomes):
            self._process_one_by_one(pending)
            return
        try:
            self._commit(batch)
        except Exception:
            BATCH_FAILURES.inc()
            log.exception(
                "commit of a batch of %d requests failed; retrying one by one",
                len(pending),
            )
            self._process_one_by_one(pending)
            return
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        BATCH_SIZE.observe(len(pending))
        for item, outcome in zip(pending, outcomes, strict=True):
            _resolve(item.future, outcome)

    def _process_one_by_one(self, pending: list[_Pending]) -> None:
        self._cache.clear()
        for item in pending:
            batch = self._new_batch()
            outcome = self._execute(batch, item.command)
            if outcome is _POISONED:
                outcome = _internal_error(item.command)
            elif not isinstance(outcome, BaseException):
                try:
                    self._commit(batch)
                except Exception:
                    log.exception(
                        "commit failed for %s request_id=%s",
                        item.command.method,
                        item.command.request_id,
                    )
                    self._cache.clear()
                    outcome = _internal_error(item.command)
            _resolve(item.future, outcome)

    def _execute(self, batch: Batch, command: Command):
        """Run one command; return its response, its LedgerError, or _POISONED."""
        previous = batch.previous_result(command.request_id)
        if previous is not None:
            return _replay(command, previous)
        events_before = len(batch.events)
        try:
            response = command.execute(batch)
        except errors.LedgerError as error:
            if len(batch.events) != events_before:
                log.error(
                    "%s staged changes before failing; batch discarded", command.method
                )
                return _POISONED
            return error
        except Exception:
            log.exception("%s failed request_id=%s", command.method, command.request_id)
            return _POISONED
        batch.stage_result(
            IdempotencyRecord(
                request_id=command.request_id,
                method=command.method,
                request_hash=command.request_hash,
                response=response.SerializeToString(),
                commit_seq=batch.last_seq,
            )
        )
        return response

    def _commit(self, batch: Batch) -> None:
        if batch.is_empty():
            return
        with transaction(self._cursor):
            batch.write()
        batch.committed()
        self._counters = batch.counters
        self._bank_accounts = batch.bank_accounts
        if batch.events:
            self._on_commit(batch.events)
            # Let the event loop take the GIL now to deliver the events, rather
            # than after the next switch interval.
            time.sleep(0)


_POISONED = object()


def _replay(command: Command, previous: IdempotencyRecord):
    if (
        previous.method != command.method
        or previous.request_hash != command.request_hash
    ):
        return errors.RequestIdReused(
            f"request_id {command.request_id!r} was already used for a different "
            "request: use a new request_id for a new operation",
            request_id=command.request_id,
            first_method=previous.method,
        )
    return command.response_type.FromString(previous.response)


def _internal_error(command: Command) -> Exception:
    return RuntimeError(
        f"{command.method} request_id={command.request_id} could not be committed"
    )


def _resolve(future: concurrent.futures.Future, outcome) -> None:
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
