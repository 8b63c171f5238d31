"""Planning a Berka import: posting order, reconciliation and held-back rows."""

from __future__ import annotations

import datetime as dt

import pytest

from bankctl.berka import plan
from bankctl.berka.records import Trans
from tests.support.berka import BERKA, last_balances, write_folder

CLIENTS = ['1;"706213";1', '2;"450204";1']
ACCOUNTS = ['10;1;"POPLATEK MESICNE";930101', '20;1;"POPLATEK TYDNE";930102']
DISPOSITIONS = ['1;1;10;"OWNER"', '2;2;10;"DISPONENT"', '3;2;20;"OWNER"']


def _trans(trans_id: int, kind: str, amount: int, balance: int, day: int = 5) -> Trans:
    return Trans(
        trans_id=trans_id,
        account_id=10,
        date=dt.date(1993, 1, day),
        kind=kind,
        amount=amount,
        balance=balance,
        k_symbol="",
        bank="",
        account="",
        line=trans_id + 1,
    )


def test_day_rows_ordered_by_balance_chain():
    rows = [
        _trans(1, "DEPOSIT", 100_00, 100_00, day=1),
        _trans(2, "WITHDRAWAL", 30_00, 120_00),
        _trans(3, "DEPOSIT", 50_00, 150_00),
        _trans(4, "DEPOSIT", 200_00, 320_00),
    ]

    postings = plan.posting_order(rows)

    assert [p.trans.trans_id for p in postings] == [1, 3, 2, 4]
    assert [p.amount for p in postings] == [100_00, 50_00, 30_00, 200_00]


def test_rounded_amount_posts_balance_movement():
    rows = [
        _trans(1, "DEPOSIT", 100_00, 100_00, day=1),
        _trans(2, "INTEREST", 40, 100_36, day=31),
    ]

    postings = plan.posting_order(rows)

    assert postings[1].amount == 36
    assert postings[1].reconciled
    assert not postings[0].reconciled


def test_search_backtracks_from_dead_end():
    # From 1.00, row 2 fits exactly and row 3 within the rounding, so row 2
    # is tried first; but no row follows it, so the order is 3, then 2.
    rows = [
        _trans(1, "DEPOSIT", 1_00, 1_00, day=1),
        _trans(2, "DEPOSIT", 10, 1_10),
        _trans(3, "DEPOSIT", 10, 1_05),
    ]

    postings = plan.posting_order(rows)

    assert [p.trans.trans_id for p in postings] == [1, 3, 2]
    assert [p.amount for p in postings] == [1_00, 5, 5]


def test_unorderable_day_names_lines():
    rows = [
        _trans(1, "DEPOSIT", 100_00, 100_00, day=1),
        _trans(2, "DEPOSIT", 50_00, 170_00),
    ]

    with pytest.raises(plan.OrderingError, match="lines 3") as failure:
        plan.posting_order(rows)

    assert failure.value.line == 3


def test_overdrawn_history_is_planned():
    rows = [
        _trans(1, "DEPOSIT", 100_00, 100_00, day=1),
        _trans(2, "WITHDRAWAL", 300_00, -200_00),
    ]

    postings = plan.posting_order(rows)

    assert [p.amount for p in postings] == [100_00, 300_00]


def test_real_data_plans_completely():
    planned = plan.build(BERKA)

    assert planned.errors == []
    assert len(planned.customers) == 5369
    assert len(planned.accounts) == 4500
    assert planned.transaction_count == 3467
    assert len(planned.reconciled) == 179
    assert max(abs(p.amount - p.trans.amount) for p in planned.postings) == 10


def test_real_data_final_balances_match_file():
    planned = plan.build(BERKA)
    expected = last_balances()

    finals = {
        account.account.account_id: account.final_balance
        for account in planned.accounts
        if account.postings
    }

    assert finals == expected


def test_real_data_balances_follow_each_row():
    planned = plan.build(BERKA)

    for account in planned.accounts:
        balance = 0
        for posting in account.postings:
            sign = 1 if posting.trans.is_credit else -1
            balance += sign * posting.amount
            assert balance == posting.trans.balance, posting.trans


def _folder(tmp_path, trans, clients=CLIENTS, dispositions=DISPOSITIONS):
    return write_folder(
        tmp_path,
        clients=clients,
        accounts=ACCOUNTS,
        dispositions=dispositions,
        trans=trans,
    )


def test_holders_owner_first_and_authorized(tmp_path):
    planned = plan.build(_folder(tmp_path, []))

    by_id = {a.account.account_id: a for a in planned.accounts}
    assert by_id[10].holders == [(1, "OWNER"), (2, "AUTHORIZED")]
    assert by_id[20].holders == [(2, "OWNER")]
    assert planned.errors == []


def test_bad_client_holds_back_its_accounts(tmp_path):
    clients = ['1;"706213";1', '2;"459999";1']

    planned = plan.build(_folder(tmp_path, [], clients=clients))

    assert [a.account.account_id for a in planned.accounts] == []
    assert planned.accounts_held_back == 2
    assert [(e.file, e.line) for e in planned.errors] == [
        ("client.asc", 3),
        ("account.asc", 2),
        ("account.asc", 3),
        ("disp.asc", 3),
        ("disp.asc", 4),
    ]


def test_bad_trans_row_holds_back_its_account(tmp_path):
    trans = [
        '1;10;930105;"PRIJEM";"VKLAD";100.00;100.00;"";;',
        '2;10;930106;"PRIJEM";"VKLAD";1x0.00;200.00;"";;',
        '3;20;930105;"PRIJEM";"VKLAD";50.00;50.00;"";;',
        '4;99;930105;"PRIJEM";"VKLAD";50.00;50.00;"";;',
    ]

    planned = plan.build(_folder(tmp_path, trans))

    by_id = {a.account.account_id: a for a in planned.accounts}
    assert by_id[10].postings == []
    assert by_id[10].transactions_held_back == 1
    assert [p.trans.trans_id for p in by_id[20].postings] == [3]
    assert planned.transactions_held_back == 1
    assert [(e.file, e.line) for e in planned.errors] == [
        ("trans.asc", 3),
        ("trans.asc", 5),
    ]
    assert "1 other row of account 10 is held back" in planned.errors[0].reason
    assert "account_id 99 is not in account.asc" in planned.errors[1].reason


def test_missing_row_breaks_chain(tmp_path):
    trans = [
        '1;10;930105;"PRIJEM";"VKLAD";100.00;100.00;"";;',
        '3;10;930107;"PRIJEM";"VKLAD";50.00;250.00;"";;',
    ]

    planned = plan.build(_folder(tmp_path, trans))

    assert planned.transactions_held_back == 2
    assert [(e.file, e.line) for e in planned.errors] == [("trans.asc", 3)]
    assert "fit no order" in planned.errors[0].reason
