"""Subscriber metrics of the ledger store's change feed."""

from __future__ import annotations

import asyncio

from bank.ledger.v1 import resources_pb2 as pb
from db_service.domain.model import ChangeRecord
from db_service.feed import SUBSCRIBER_LAG, ChangeFeed, Filter


def customer_record(seq: int) -> ChangeRecord:
    return ChangeRecord(
        seq=seq,
        committed_us=1_700_000_000_000_000,
        entity_type="CUSTOMER",
        change_kind="CREATED",
        entity_id=seq,
        account_ids=(),
        payload=pb.Customer(customer_id=seq, full_name="x").SerializeToString(),
    )


def gauge_value() -> float:
    return SUBSCRIBER_LAG.collect()[0].samples[0].value


async def follow_feed() -> list[float]:
    """Return the lag gauge before, during and after a subscriber catches up."""
    # The stream never reads the database: it starts at the latest sequence.
    feed = ChangeFeed(database=None, progress_interval=60)
    feed.attach(asyncio.get_running_loop(), latest_seq=5)
    stream = feed.stream(5, Filter())
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    seen = [gauge_value()]

    feed._deliver([customer_record(6), customer_record(7)])
    seen.append(gauge_value())
    events, latest = await first
    seen.append(gauge_value())

    assert [event.sequence for event in events] == [6, 7]
    assert latest == 7
    await stream.aclose()
    seen.append(gauge_value())
    return seen


def test_subscriber_lag_follows_sent_events():
    before, behind, caught_up, closed = asyncio.run(follow_feed())

    assert before == 0
    assert behind == 2
    assert caught_up == 0
    assert closed == 0
