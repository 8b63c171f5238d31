"""The ledger store's own RPCs that the front ends use: feed and information."""

from __future__ import annotations

import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.adapters.schema import CURRENCIES
from tests.support.bank import latest_sequence

pytestmark = pytest.mark.e2e


def read_events(stream, count: int) -> list[pb.ChangeEvent]:
    """Read messages from a WatchChanges stream until ``count`` events came."""
    events: list[pb.ChangeEvent] = []
    while len(events) < count:
        events.extend(next(stream).events)
    return events


def test_ledger_info_lists_currencies_and_sequences(bank):
    bank.open_account()

    info = bank.ledger.GetLedgerInfo(store.GetLedgerInfoRequest(), timeout=10)

    assert [(c.code, c.minor_unit_exponent, c.name) for c in info.currencies] == (
        sorted(CURRENCIES)
    )
    assert info.oldest_retained_sequence == 1
    assert info.latest_sequence >= 1
    assert info.start_time.seconds > 0


def test_watch_changes_replays_history_then_live_events(bank):
    account = bank.open_account()
    latest = latest_sequence(bank)
    stream = bank.ledger.WatchChanges(
        store.WatchChangesRequest(after_sequence=0), timeout=10
    )
    try:
        history = read_events(stream, latest)
        posted = bank.deposit(account.account_id, 40)
        live = read_events(stream, posted.commit_sequence - latest)
    finally:
        stream.cancel()

    events = history + live
    assert [e.sequence for e in events] == list(range(1, posted.commit_sequence + 1))
    assert live[0].change_kind == pb.CHANGE_KIND_POSTED
    assert live[0].transaction == posted.transaction
    assert live[1].entity_type == pb.ENTITY_TYPE_ACCOUNT
    assert live[1].change_kind == pb.CHANGE_KIND_BALANCE_CHANGED
    assert live[1].account.balance.minor_units == 40


def test_watch_changes_filters_by_type_and_account(bank):
    account = bank.open_account()
    other = bank.open_account()
    start = latest_sequence(bank)
    bank.deposit(other.account_id, 5)
    first = bank.deposit(account.account_id, 7)
    bank.set_status(bank.ledger_account(account.account_id), pb.ACCOUNT_STATUS_FROZEN)
    stream = bank.ledger.WatchChanges(
        store.WatchChangesRequest(
            after_sequence=start,
            entity_types=[pb.ENTITY_TYPE_TRANSACTION],
            account_id=account.account_id,
        ),
        timeout=10,
    )
    try:
        events = read_events(stream, 1)
    finally:
        stream.cancel()

    assert [e.transaction for e in events] == [first.transaction]
