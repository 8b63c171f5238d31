"""A live view of accounts, kept current from the ledger store's change feed.

On start the consumer notes the store's latest sequence S, loads every
account with ListAccounts, and then follows WatchChanges from S. Each
account carries the sequence of its last change (``change_sequence``), and
the view keeps whichever state is newer, so accounts that change while the
snapshot loads end up in their latest state whatever the interleaving.

After a disconnect it reconnects with exponential back-off and resumes
after the last sequence it applied. If the store no longer retains that
sequence, it loads a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections.abc import Awaitable, Callable

import grpc
from prometheus_client import Gauge

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors, status
from bank_common.ledger_client import LedgerClient

log = logging.getLogger(__name__)

APPLIED_SEQUENCE = Gauge("feed_applied_sequence", "Last change-feed sequence applied.")
FEED_LAG = Gauge("feed_lag_events", "Committed events not yet applied to the view.")
FEED_CONNECTED = Gauge("feed_connected", "1 while the change-feed stream is open.")

SNAPSHOT_PAGE = 1000


class AccountView:
    """Accounts by id, each in the newest state seen."""

    def __init__(self) -> None:
        self._accounts: dict[int, pb.Account] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def get(self, account_id: int) -> pb.Account | None:
        return self._accounts.get(account_id)

    def put(self, account: pb.Account) -> bool:
        """Keep ``account`` if newer than the view's copy; return whether kept."""
        current = self._accounts.get(account.account_id)
        if current is not None and current.change_sequence >= account.change_sequence:
            return False
        self._accounts[account.account_id] = account
        return True


class FeedConsumer:
    """Follows the change feed into an ``AccountView`` and tracks progress.

    ``on_event`` is called for every event after the view has applied it,
    for services that fan events out to their own clients. ``on_connected``
    is awaited with True once the view is loaded and the feed is open, and
    with False when the feed is lost.
    """

    def __init__(
        self,
        client: LedgerClient,
        view: AccountView,
        *,
        service: str,
        on_event: Callable[[pb.ChangeEvent], None] | None = None,
        on_connected: Callable[[bool], Awaitable[None]] | None = None,
        max_backoff: float = 5.0,
    ):
        self._client = client
        self.view = view
        self._service = service
        self._on_event = on_event
        self._on_connected = on_connected
        self._max_backoff = max_backoff
        self.applied_seq = 0
        self.ledger_seq = 0
        self.connected = False
        self.currencies: frozenset[str] = frozenset()
        """Currency codes the ledger accepts; empty until the first snapshot."""
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._waiter_ids = 0
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    @property
    def lag(self) -> int:
        return max(0, self.ledger_seq - self.applied_seq)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._service}-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the first snapshot is loaded; return whether it was in time."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def wait_for(self, sequence: int, timeout: float) -> bool:
        """Wait until the view has applied ``sequence``; return False on timeout."""
        if sequence <= self.applied_seq:
            return True
        future = asyncio.get_running_loop().create_future()
        self._waiter_ids += 1
        heapq.heappush(self._waiters, (sequence, self._waiter_ids, future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            if not future.done():
                future.cancel()

    async def reach(self, sequence: int, timeout: float) -> bool:
        """Wait until the view has applied ``sequence``, a caller's min_sequence.

        Returns False when the view is still behind after ``timeout``, so the
        caller reads from the ledger store instead. Raises SequenceOutOfRange
        when the feed is connected and reports no committed change with that
        sequence yet; progress messages keep ``ledger_seq`` at most about a
        second old.
        """
        if await self.wait_for(sequence, timeout):
            return True
        if self.connected and sequence > self.ledger_seq:
            raise errors.SequenceOutOfRange(
                f"min_sequence {sequence} is beyond the latest committed sequence "
                f"{self.ledger_seq}: pass the commit_sequence of a write you made",
                latest_sequence=self.ledger_seq,
            )
        log.warning(
            "%s: view at sequence %d did not reach %d within %.1fs",
            self._service,
            self.applied_seq,
            sequence,
            timeout,
        )
        return False

    def _advance(self, sequence: int) -> None:
        self.applied_seq = max(self.applied_seq, sequence)
        self.ledger_seq = max(self.ledger_seq, self.applied_seq)
        while self._waiters and self._waiters[0][0] <= self.applied_seq:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
        APPLIED_SEQUENCE.set(self.applied_seq)
        FEED_LAG.set(self.lag)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                if not self._ready.is_set():
                    await self._load_snapshot()
                await self._follow()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except errors.SequenceOutOfRange as error:
                log.warning(
                    "%s: %s; reloading the snapshot", self._service, error.message
                )
                self._ready.clear()
            except (grpc.aio.AioRpcError, errors.LedgerError) as error:
                if isinstance(error, grpc.aio.AioRpcError):
                    cause = f"{error.code().name}: {error.details()}"
                else:
                    cause = error.metadata.get("upstream_code", error.reason)
                if self._ready.is_set():
                    step = f"reading the change feed after sequence {self.applied_seq}"
                else:
                    step = "loading the account view"
                log.warning(
                    "%s: %s from the ledger store at %s failed (%s); retrying in about "
                    "%.1fs",
                    self._service,
                    step,
                    self._client.address,
                    cause,
                    backoff,
                )
            await self._set_connected(False)
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(self._max_backoff, backoff * 2)

    async def _load_snapshot(self) -> None:
        info = await self._client.call("GetLedgerInfo", store.GetLedgerInfoRequest())
        self.currencies = frozenset(currency.code for currency in info.currencies)
        start = info.latest_sequence
        token = ""
        loaded = 0
        while True:
            page = await self._client.call(
                "ListAccounts",
                store.ListAccountsRequest(page_size=SNAPSHOT_PAGE, page_token=token),
            )
            for account in page.accounts:
                self.view.put(account)
            loaded += len(page.accounts)
            token = page.next_page_token
            if not token:
                break
        self.applied_seq = start
        self._advance(start)
        self._ready.set()
        log.info(
            "%s: loaded %d accounts as of sequence %d", self._service, loaded, start
        )

    async def _follow(self) -> None:
        request = store.WatchChangesRequest(after_sequence=self.applied_seq)
        stream = self._client.stub.WatchChanges(request, wait_for_ready=True)
        try:
            async for message in stream:
                if not self.connected:
                    await self._set_connected(True)
                    log.info(
                        "%s: following the change feed after sequence %d (ledger at "
                        "%d)",
                        self._service,
                        self.applied_seq,
                        message.latest_sequence,
                    )
                self.ledger_seq = max(self.ledger_seq, message.latest_sequence)
                for event in message.events:
                    self._apply(event)
                if not message.events:
                    FEED_LAG.set(self.lag)
        except grpc.aio.AioRpcError as error:
            domain_error = status.error_from_rpc_error(error)
            if isinstance(domain_error, errors.SequenceOutOfRange):
                raise domain_error from None
            if not isinstance(domain_error, errors.ShuttingDown):
                raise
        finally:
            stream.cancel()
        log.info(
            "%s: the ledger store ended the change feed at sequence %d; reconnecting "
            "once it is back",
            self._service,
            self.applied_seq,
        )

    def _apply(self, event: pb.ChangeEvent) -> None:
        if event.sequence <= self.applied_seq:
            return
        if event.HasField("account"):
            self.view.put(event.account)
        if self._on_event is not None:
            self._on_event(event)
        self._advance(event.sequence)

    async def _set_connected(self, connected: bool) -> None:
        changed = connected != self.connected
        self.connected = connected
        FEED_CONNECTED.set(1 if connected else 0)
        if changed and self._on_connected is not None:
            await self._on_connected(connected)
