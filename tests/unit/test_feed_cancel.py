"""Cancelling a change-feed or account watch stream leaves no task behind."""

import asyncio

from account_service.servicer import _next_or_closing
from db_service.adapters.database import Database
from db_service.feed import ChangeFeed, Filter


async def _cancel_a_waiting_stream(tmp_path) -> set[asyncio.Task]:
    database = Database(str(tmp_path / "ledger.duckdb"), reader_threads=1)
    feed = ChangeFeed(database, progress_interval=30)
    feed.attach(asyncio.get_running_loop(), latest_seq=0)

    async def consume():
        async for _ in feed.stream(0, Filter()):
            pass

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await asyncio.sleep(0)
    left = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
    database.close()
    return left


def test_cancelled_stream_leaves_no_pending_task(tmp_path):
    left = asyncio.run(_cancel_a_waiting_stream(tmp_path))

    assert left == set()


async def _cancel_a_waiting_watch() -> set[asyncio.Task]:
    waiter = asyncio.create_task(_next_or_closing(asyncio.Queue(), asyncio.Event()))
    await asyncio.sleep(0.05)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await asyncio.sleep(0)
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


def test_cancelled_account_watch_leaves_no_pending_task():
    left = asyncio.run(_cancel_a_waiting_watch())

    assert left == set()
