"""The audit's SQL checks on a real DuckDB file, broken by hand one way at a time."""

from __future__ import annotations

import pytest

from bank.ledger.v1 import resources_pb2 as pb
from tests.support.store import InProcessLedger

DEPOSIT = pb.TRANSACTION_KIND_DEPOSIT
WITHDRAWAL = pb.TRANSACTION_KIND_WITHDRAWAL
TRANSFER = pb.TRANSACTION_KIND_TRANSFER


@pytest.fixture
def ledger(tmp_path):
    instance = InProcessLedger(tmp_path / "ledger.duckdb")
    yield instance
    instance.close()


@pytest.fixture
def busy_ledger(ledger):
    """A ledger with two accounts, a deposit, a transfer and a withdrawal."""
    first = ledger.open_account(overdraft=1_000)
    second = ledger.open_account()
    ledger.post(DEPOSIT, first.account_id, 10_000)
    ledger.post(TRANSFER, first.account_id, 4_000, counter_account_id=second.account_id)
    ledger.post(WITHDRAWAL, first.account_id, 6_500)
    ledger.first, ledger.second = first, second
    return ledger


def kinds(report) -> list[str]:
    return sorted({violation.kind for violation in report.violations})


def test_audit_of_consistent_ledger_is_clean(busy_ledger):
    report = busy_ledger.audit()

    assert report.violations == []
    assert not report.truncated
    assert report.transactions == 3
    assert report.entries == 6
    assert report.latest_sequence > 0
    assert report.oldest_sequence == 1


def test_audit_of_empty_ledger_is_clean(ledger):
    assert ledger.audit().violations == []


def test_audit_finds_balance_that_differs_from_entries(busy_ledger):
    account_id = busy_ledger.second.account_id
    busy_ledger.sql(
        "UPDATE accounts SET balance = balance + 7 WHERE account_id = ?", [account_id]
    )

    report = busy_ledger.audit()

    assert kinds(report) == ["BALANCE_MISMATCH", "CURRENCY_NOT_BALANCED"]
    mismatch = report.violations[0]
    assert mismatch.account_id == account_id
    assert mismatch.expected == 4_000
    assert mismatch.actual == 4_007
    currency = report.violations[1]
    assert currency.currency_code == "CZK"
    assert currency.actual == 7


def test_audit_finds_unbalanced_transaction(busy_ledger):
    entry_id, transaction_id = busy_ledger.sql(
        "SELECT entry_id, transaction_id FROM entries WHERE account_id = ?",
        [busy_ledger.second.account_id],
    )[0]
    busy_ledger.sql(
        "UPDATE entries SET amount = amount + 1, balance_after = balance_after + 1 "
        "WHERE entry_id = ?",
        [entry_id],
    )

    report = busy_ledger.audit()

    unbalanced = [v for v in report.violations if v.kind == "UNBALANCED_TRANSACTION"]
    assert [v.transaction_id for v in unbalanced] == [transaction_id]
    assert unbalanced[0].actual == 1
    assert "BALANCE_MISMATCH" in kinds(report)


def test_audit_finds_debit_below_overdraft_limit(busy_ledger):
    # The withdrawal took the first account to -500 under a limit of 1000.
    busy_ledger.sql(
        "UPDATE accounts SET overdraft_limit = 100 WHERE account_id = ?",
        [busy_ledger.first.account_id],
    )

    report = busy_ledger.audit()

    assert kinds(report) == ["OVERDRAFT_EXCEEDED"]
    violation = report.violations[0]
    assert violation.account_id == busy_ledger.first.account_id
    assert violation.expected == -100
    assert violation.actual == -500


def test_audit_accepts_limit_lowered_after_repayment(ledger):
    account = ledger.open_account(overdraft=1_000)
    ledger.post(WITHDRAWAL, account.account_id, 900)
    ledger.post(DEPOSIT, account.account_id, 900)
    ledger.set_overdraft(account, 100)

    assert ledger.audit().violations == []


def test_audit_accepts_imported_debit_below_limit(ledger):
    account = ledger.open_account(overdraft=0)
    ledger.post(
        WITHDRAWAL,
        account.account_id,
        5_000,
        imported=True,
        external_ref="history-1",
        value_date="1995-03-01",
    )
    ledger.post(DEPOSIT, account.account_id, 100)

    assert ledger.audit().violations == []


def test_audit_finds_gap_in_change_log(busy_ledger):
    # The opening of the first account was superseded by its later balance
    # changes, so no entity misses its event and only the gap shows.
    seq = busy_ledger.sql(
        "SELECT seq FROM change_log WHERE entity_type = 'ACCOUNT' "
        "AND change_kind = 'CREATED' AND entity_id = ?",
        [busy_ledger.first.account_id],
    )[0][0]
    busy_ledger.sql("DELETE FROM change_log WHERE seq = ?", [seq])

    report = busy_ledger.audit()

    assert kinds(report) == ["SEQUENCE_GAP"]
    assert report.violations[0].sequence == seq
    assert report.violations[0].actual == seq + 1


def test_audit_finds_duplicate_sequence(busy_ledger):
    # The primary key forbids a duplicate, so rebuild the table without it.
    busy_ledger.sql("CREATE TABLE change_log_copy AS SELECT * FROM change_log")
    busy_ledger.sql("DROP TABLE change_log")
    busy_ledger.sql("ALTER TABLE change_log_copy RENAME TO change_log")
    busy_ledger.sql("INSERT INTO change_log SELECT * FROM change_log WHERE seq = 45")

    report = busy_ledger.audit()

    assert kinds(report) == ["SEQUENCE_DUPLICATE"]
    assert report.violations[0].sequence == 45
    assert report.violations[0].actual == 2


def test_audit_finds_entries_pointing_nowhere(busy_ledger):
    # The foreign keys forbid such entries, so rebuild the table without them.
    busy_ledger.sql("CREATE TABLE entries_copy AS SELECT * FROM entries")
    busy_ledger.sql("DROP TABLE entries")
    busy_ledger.sql("ALTER TABLE entries_copy RENAME TO entries")
    transaction_id = busy_ledger.sql("SELECT min(transaction_id) FROM transactions")
    busy_ledger.sql(
        "INSERT INTO entries VALUES (9001, ?, 777777, 5, 5), (9002, 888888, ?, 5, 5)",
        [transaction_id[0][0], busy_ledger.second.account_id],
    )

    report = busy_ledger.audit()

    missing_account = [
        v for v in report.violations if v.kind == "ENTRY_WITHOUT_ACCOUNT"
    ]
    missing_transaction = [
        v for v in report.violations if v.kind == "ENTRY_WITHOUT_TRANSACTION"
    ]
    assert [(v.entry_id, v.account_id) for v in missing_account] == [(9001, 777777)]
    assert [(v.entry_id, v.transaction_id) for v in missing_transaction] == [
        (9002, 888888)
    ]


def test_audit_finds_transaction_missing_an_entry(busy_ledger):
    entry_id, transaction_id = busy_ledger.sql(
        "SELECT max(entry_id), arg_max(transaction_id, entry_id) FROM entries"
    )[0]
    busy_ledger.sql("DELETE FROM entries WHERE entry_id = ?", [entry_id])

    report = busy_ledger.audit()

    partial = [v for v in report.violations if v.kind == "PARTIAL_TRANSACTION"]
    assert [(v.transaction_id, v.actual) for v in partial] == [(transaction_id, 1)]
    assert "UNBALANCED_TRANSACTION" in kinds(report)
    assert "BALANCE_MISMATCH" in kinds(report)


def test_audit_finds_wrong_balance_after(busy_ledger):
    entry_id = busy_ledger.sql(
        "SELECT min(entry_id) FROM entries WHERE account_id = ?",
        [busy_ledger.first.account_id],
    )[0][0]
    busy_ledger.sql(
        "UPDATE entries SET balance_after = balance_after - 3 WHERE entry_id = ?",
        [entry_id],
    )

    report = busy_ledger.audit()

    assert kinds(report) == ["ENTRY_BALANCE_MISMATCH"]
    assert report.violations[0].entry_id == entry_id
    assert report.violations[0].expected == 10_000
    assert report.violations[0].actual == 9_997


def test_audit_finds_change_without_event(busy_ledger):
    latest = busy_ledger.sql("SELECT max(seq) FROM change_log")[0][0]
    transaction_seq = busy_ledger.sql("SELECT max(change_seq) FROM transactions")[0][0]
    # Drop the last transaction's event; keep the newest event, so the
    # change log still ends at the latest sequence.
    busy_ledger.sql("DELETE FROM change_log WHERE seq = ?", [transaction_seq])
    assert transaction_seq < latest

    report = busy_ledger.audit()

    assert kinds(report) == ["CHANGE_EVENT_MISSING", "SEQUENCE_GAP"]
    missing = [v for v in report.violations if v.kind == "CHANGE_EVENT_MISSING"]
    assert [v.sequence for v in missing] == [transaction_seq]
    assert missing[0].transaction_id > 0


def test_audit_ignores_events_before_retained_range(busy_ledger):
    latest = busy_ledger.sql("SELECT max(seq) FROM change_log")[0][0]
    busy_ledger.sql("DELETE FROM change_log WHERE seq < ?", [latest])

    report = busy_ledger.audit()

    assert report.violations == []
    assert report.oldest_sequence == latest


def test_audit_stops_at_max_violations(busy_ledger):
    busy_ledger.sql("UPDATE accounts SET balance = balance + 1")

    report = busy_ledger.audit(max_violations=2)

    assert len(report.violations) == 2
    assert report.truncated
