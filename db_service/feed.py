"""The change feed: committed change events streamed to subscribers.

The writer hands each committed batch of events to ``ChangeFeed.publish``
from its own thread. The feed moves them to the event loop and offers them
to every subscription's bounded queue without waiting, so a slow subscriber
never slows the writer. A subscription whose queue overflows is marked, and
its stream catches up from the change_log table, which contains every
committed event, before it goes back to live events.

A stream registers its subscription before it reads history, so every
event committed after registration is either in what it reads from the
table or in its queue; events seen twice are skipped by sequence.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from bank.ledger.v1 import resources_pb2 as pb
from db_service import convert
from db_service.adapters import changelog as changelog_sql
from db_service.adapters.database import Database
from db_service.domain.model import ChangeRecord

log = logging.getLogger(__name__)

SUBSCRIBERS = Gauge("ledger_feed_subscribers", "Open WatchChanges streams.")
SUBSCRIBER_LAG = Gauge(
    "ledger_feed_max_subscriber_lag",
    "Largest number of committed events a WatchChanges stream has not yet sent.",
)
OVERFLOWS = Counter(
    "ledger_feed_overflows_total",
    "Times a WatchChanges stream fell too far behind for its queue and switched "
    "to reading the change_log table.",
)

# Events per message while catching up from the change_log table.
CATCH_UP_PAGE = 500


@dataclass(frozen=True)
class Filter:
    """The events a subscriber wants; empty ``entity_types`` means all."""

    entity_types: frozenset[str] = frozenset()
    account_id: int = 0

    def matches(self, record: ChangeRecord) -> bool:
        if self.entity_types and record.entity_type not in self.entity_types:
            return False
        return not self.account_id or self.account_id in record.account_ids


def event_message(record: ChangeRecord) -> pb.ChangeEvent:
    event = pb.ChangeEvent(
        sequence=record.seq,
        entity_type=convert.ENTITY_TYPE[record.entity_type],
        change_kind=convert.CHANGE_KIND[record.change_kind],
        entity_id=record.entity_id,
    )
    event.commit_time.CopyFrom(convert.timestamp(record.committed_us))
    if record.entity_type == "CUSTOMER":
        event.customer.ParseFromString(record.payload)
    elif record.entity_type == "ACCOUNT":
        event.account.ParseFromString(record.payload)
    else:
        event.transaction.ParseFromString(record.payload)
    return event


class LiveEvent:
    """A committed event on its way to live streams, converted once for all."""

    __slots__ = ("record", "_message")

    def __init__(self, record: ChangeRecord):
        self.record = record
        self._message: pb.ChangeEvent | None = None

    @property
    def message(self) -> pb.ChangeEvent:
        if self._message is None:
            self._message = event_message(self.record)
        return self._message


# Put into a stream's queue to wake it for shutdown.
_CLOSED: list[LiveEvent] = []


class Subscription:
    def __init__(self, queue_size: int, subscriber_id: int, event_filter: Filter):
        # Unbounded, so the shutdown marker always fits; offer() enforces the
        # size limit itself.
        self.queue: asyncio.Queue[list[LiveEvent]] = asyncio.Queue()
        self.queue_size = queue_size
        self.subscriber_id = subscriber_id
        self.event_filter = event_filter
        self.overflowed = False
        self.sent_seq = 0
        self.last_message_at = 0.0

    def offer(self, events: list[LiveEvent]) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() < self.queue_size:
            self.queue.put_nowait(events)
        else:
            self.overflowed = True
            OVERFLOWS.inc()
            log.warning(
                "feed subscriber %d (account_id=%d, entity_types=%s) is %d batches "
                "behind at sequence %d; it catches up from the change_log table",
                self.subscriber_id,
                self.event_filter.account_id,
                ",".join(sorted(self.event_filter.entity_types)) or "all",
                self.queue.qsize(),
                self.sent_seq,
            )

    def reset(self) -> None:
        """Drop queued events after an overflow; the table has them all."""
        while not self.queue.empty():
            if self.queue.get_nowait() is _CLOSED:
                self.queue.put_nowait(_CLOSED)
                break
        self.overflowed = False


class ChangeFeed:
    def __init__(
        self,
        database: Database,
        *,
        queue_size: int = 1000,
        progress_interval: float = 1.0,
    ):
        self._database = database
        self._latest = 0
        self._queue_size = queue_size
        self._progress_interval = progress_interval
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = asyncio.Event()
        self._subscriber_ids = itertools.count(1)

    @property
    def latest_seq(self) -> int:
        return self._latest

    def attach(self, loop: asyncio.AbstractEventLoop, latest_seq: int) -> None:
        """Deliver on ``loop``, starting after ``latest_seq``, the last committed.

        Also makes this feed the source of the subscriber-lag gauge, which has one
        value per process.
        """
        self._loop = loop
        self._latest = latest_seq
        SUBSCRIBER_LAG.set_function(self.max_subscriber_lag)

    def max_subscriber_lag(self) -> int:
        """Return how many committed events the furthest-behind stream has not sent.

        The metrics server calls this from its own thread at scrape time.
        list() copies the set in one call that holds the GIL throughout, so
        the loop thread cannot change it mid-copy.
        """
        subscriptions = list(self._subscriptions)
        latest = self._latest
        return max((latest - s.sent_seq for s in subscriptions), default=0)

    def publish(self, records: list[ChangeRecord]) -> None:
        """Hand committed events over from the writer thread."""
        assert self._loop is not None, "attach() the event loop first"
        self._loop.call_soon_threadsafe(self._deliver, records)

    def _deliver(self, records: list[ChangeRecord]) -> None:
        self._latest = max(self._latest, records[-1].seq)
        events = [LiveEvent(record) for record in records]
        for subscription in self._subscriptions:
            subscription.offer(events)

    def close(self) -> None:
        """Ask every open stream to finish what it has and end."""
        self._closing.set()
        for subscription in self._subscriptions:
            subscription.queue.put_nowait(_CLOSED)

    async def stream(
        self, after_seq: int, event_filter: Filter
    ) -> AsyncIterator[tuple[list[pb.ChangeEvent], int]]:
        """Yield (events, latest_seq) from after_seq onwards, then live.

        Events come in sequence order without gaps or repeats among those that
        pass the filter. An empty list is a progress message, sent when no
        event passed for ``progress_interval`` seconds.
        """
        subscription = Subscription(
            self._queue_size, next(self._subscriber_ids), event_filter
        )
        subscription.sent_seq = after_seq
        subscription.last_message_at = asyncio.get_running_loop().time()
        self._subscriptions.add(subscription)
        SUBSCRIBERS.inc()
        log.debug(
            "feed subscriber %d opened after sequence %d",
            subscription.subscriber_id,
            after_seq,
        )
        try:
            async for item in self._run(subscription, event_filter):
                yield item
        finally:
            self._subscriptions.discard(subscription)
            SUBSCRIBERS.dec()
            log.debug(
                "feed subscriber %d closed at sequence %d",
                subscription.subscriber_id,
                subscription.sent_seq,
            )

    async def _run(self, subscription: Subscription, event_filter: Filter):
        catch_up = True
        while not self._closing.is_set():
            if catch_up:
                async for page in self._catch_up(subscription, event_filter):
                    yield page
                catch_up = False
            message = await self._next_live(subscription, event_filter)
            if subscription.overflowed:
                catch_up = True
            elif message is not None:
                yield message

    async def _catch_up(self, subscription: Subscription, event_filter: Filter):
        subscription.reset()
        while subscription.sent_seq < self._latest:
            up_to = self._latest
            after = subscription.sent_seq
            records = await self._database.read(
                lambda cursor, after=after, up_to=up_to: changelog_sql.read_after(
                    cursor,
                    after,
                    up_to,
                    CATCH_UP_PAGE,
                    sorted(event_filter.entity_types),
                    event_filter.account_id,
                )
            )
            if len(records) < CATCH_UP_PAGE:
                subscription.sent_seq = up_to
            else:
                subscription.sent_seq = records[-1].seq
            if records:
                subscription.last_message_at = asyncio.get_running_loop().time()
                yield [event_message(r) for r in records], self._latest

    async def _next_live(self, subscription: Subscription, event_filter: Filter):
        """Wait for live events and return the next message, or None if none is due."""
        loop = asyncio.get_running_loop()
        timeout = max(
            0.0, subscription.last_message_at + self._progress_interval - loop.time()
        )
        try:
            async with asyncio.timeout(timeout):
                batch = [await subscription.queue.get()]
        except TimeoutError:
            subscription.last_message_at = loop.time()
            return [], self._latest
        while not subscription.queue.empty():
            batch.append(subscription.queue.get_nowait())
        if any(events is _CLOSED for events in batch):
            return None
        fresh = [
            event
            for events in batch
            for event in events
            if event.record.seq > subscription.sent_seq
            and event_filter.matches(event.record)
        ]
        subscription.sent_seq = max(subscription.sent_seq, batch[-1][-1].record.seq)
        if not fresh:
            return None
        subscription.last_message_at = loop.time()
        return [event.message for event in fresh], self._latest


def entity_type_names(values: Sequence[int]) -> frozenset[str]:
    return frozenset(convert.ENTITY_TYPE_NAME[value] for value in values)
