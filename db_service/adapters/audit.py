"""SQL of the audit: set-based checks of the ledger's invariants.

Every check is one query that returns the rows breaking one invariant. The
caller runs all of them in one read transaction, so they judge a single
committed snapshot even while the writer keeps committing. Money values are
minor units; sums come back from DuckDB as HUGEINT, so a corrupt database
cannot overflow them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from db_service.adapters.database import transaction


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant; ids that do not apply to the kind are 0."""

    kind: str
    message: str
    account_id: int = 0
    transaction_id: int = 0
    entry_id: int = 0
    currency_code: str = ""
    sequence: int = 0
    expected: int = 0
    actual: int = 0


@dataclass
class Report:
    """What one audit checked and the violations it found."""

    violations: list[Violation] = field(default_factory=list)
    truncated: bool = False
    accounts: int = 0
    transactions: int = 0
    entries: int = 0
    oldest_sequence: int = 0
    latest_sequence: int = 0


@dataclass(frozen=True)
class _Check:
    kind: str
    sql: str
    """A query whose rows are violations; it must end before a LIMIT clause."""
    build: Callable[..., Violation]
    """Turns one row into a Violation; takes the kind and the row's values."""


def _balance_mismatch(kind, account_id, currency, balance, total) -> Violation:
    return Violation(
        kind,
        f"account {account_id} has a balance of {balance} {currency} minor units "
        f"but its entries sum to {total}",
        account_id=account_id,
        currency_code=currency,
        expected=total,
        actual=balance,
    )


def _unbalanced(kind, transaction_id, currency, total) -> Violation:
    return Violation(
        kind,
        f"transaction {transaction_id} has entries in {currency} that sum to "
        f"{total} minor units instead of 0",
        transaction_id=transaction_id,
        currency_code=currency,
        expected=0,
        actual=total,
    )


def _partial(kind, transaction_id, count) -> Violation:
    return Violation(
        kind,
        f"transaction {transaction_id} has {count} entries; every transaction "
        "has at least 2",
        transaction_id=transaction_id,
        expected=2,
        actual=count,
    )


def _currency(kind, currency, total) -> Violation:
    return Violation(
        kind,
        f"the balances in {currency} sum to {total} minor units instead of 0",
        currency_code=currency,
        expected=0,
        actual=total,
    )


def _overdraft(
    kind, entry_id, transaction_id, account_id, currency, floor, balance
) -> Violation:
    return Violation(
        kind,
        f"entry {entry_id} of transaction {transaction_id} took account "
        f"{account_id} to {balance} {currency} minor units, below its floor of "
        f"{floor} (minus the overdraft limit)",
        account_id=account_id,
        transaction_id=transaction_id,
        entry_id=entry_id,
        currency_code=currency,
        expected=floor,
        actual=balance,
    )


def _gap(kind, first_missing, next_present) -> Violation:
    return Violation(
        kind,
        f"change-log sequences {first_missing} to {next_present - 1} are missing "
        f"before sequence {next_present}",
        sequence=first_missing,
        expected=first_missing,
        actual=next_present,
    )


def _duplicate(kind, seq, count) -> Violation:
    return Violation(
        kind,
        f"change-log sequence {seq} is used by {count} events",
        sequence=seq,
        expected=1,
        actual=count,
    )


def _entry_without_account(kind, entry_id, transaction_id, account_id) -> Violation:
    return Violation(
        kind,
        f"entry {entry_id} of transaction {transaction_id} names account "
        f"{account_id}, which does not exist",
        account_id=account_id,
        transaction_id=transaction_id,
        entry_id=entry_id,
    )


def _entry_without_transaction(kind, entry_id, transaction_id, account_id) -> Violation:
    return Violation(
        kind,
        f"entry {entry_id} on account {account_id} names transaction "
        f"{transaction_id}, which does not exist",
        account_id=account_id,
        transaction_id=transaction_id,
        entry_id=entry_id,
    )


def _entry_balance(
    kind, entry_id, transaction_id, account_id, currency, running, balance_after
) -> Violation:
    return Violation(
        kind,
        f"entry {entry_id} on account {account_id} records a balance after of "
        f"{balance_after} {currency} minor units but the account's entries up to "
        f"it sum to {running}",
        account_id=account_id,
        transaction_id=transaction_id,
        entry_id=entry_id,
        currency_code=currency,
        expected=running,
        actual=balance_after,
    )


def _missing_event(kind, entity_type, entity_id, seq) -> Violation:
    ids = {
        "ACCOUNT": {"account_id": entity_id},
        "TRANSACTION": {"transaction_id": entity_id},
    }.get(entity_type, {})
    return Violation(
        kind,
        f"{entity_type.lower()} {entity_id} was last changed at sequence {seq}, "
        "but the change log has no event for that change",
        sequence=seq,
        **ids,
    )


_CHECKS: tuple[_Check, ...] = (
    _Check(
        "BALANCE_MISMATCH",
        """
        SELECT a.account_id, a.currency_code, a.balance, coalesce(s.total, 0)
        FROM accounts a
        LEFT JOIN (
            SELECT account_id, sum(amount) AS total FROM entries GROUP BY account_id
        ) s USING (account_id)
        WHERE a.balance <> coalesce(s.total, 0)
        ORDER BY a.account_id
        """,
        _balance_mismatch,
    ),
    _Check(
        "UNBALANCED_TRANSACTION",
        """
        SELECT e.transaction_id, a.currency_code, sum(e.amount)
        FROM entries e JOIN accounts a USING (account_id)
        GROUP BY e.transaction_id, a.currency_code
        HAVING sum(e.amount) <> 0
        ORDER BY 1, 2
        """,
        _unbalanced,
    ),
    _Check(
        "CURRENCY_NOT_BALANCED",
        """
        SELECT currency_code, sum(balance) FROM accounts
        GROUP BY currency_code HAVING sum(balance) <> 0
        ORDER BY 1
        """,
        _currency,
    ),
    # The limit in force for a debit is known only for debits posted since
    # the account's last change through the account API (updated_at), since
    # postings do not touch updated_at. An earlier debit may have used a
    # higher limit that was lowered after the overdraft was repaid, which
    # the ledger allows, so those are not judged against today's limit.
    _Check(
        "OVERDRAFT_EXCEEDED",
        """
        SELECT e.entry_id, e.transaction_id, e.account_id, a.currency_code,
               -a.overdraft_limit, e.balance_after
        FROM entries e
        JOIN transactions t USING (transaction_id)
        JOIN accounts a ON a.account_id = e.account_id
        WHERE NOT t.imported AND e.amount < 0 AND a.overdraft_limit IS NOT NULL
          AND e.balance_after < -a.overdraft_limit AND t.posted_at >= a.updated_at
        ORDER BY e.entry_id
        """,
        _overdraft,
    ),
    _Check(
        "SEQUENCE_GAP",
        """
        SELECT previous + 1, seq FROM (
            SELECT seq, lag(seq) OVER (ORDER BY seq) AS previous FROM change_log
        )
        WHERE seq - previous > 1
        ORDER BY seq
        """,
        _gap,
    ),
    _Check(
        "SEQUENCE_DUPLICATE",
        """
        SELECT seq, count(*) FROM change_log GROUP BY seq HAVING count(*) > 1
        ORDER BY seq
        """,
        _duplicate,
    ),
    _Check(
        "ENTRY_WITHOUT_ACCOUNT",
        """
        SELECT e.entry_id, e.transaction_id, e.account_id FROM entries e
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = e.account_id)
        ORDER BY e.entry_id
        """,
        _entry_without_account,
    ),
    _Check(
        "ENTRY_WITHOUT_TRANSACTION",
        """
        SELECT e.entry_id, e.transaction_id, e.account_id FROM entries e
        WHERE NOT EXISTS (
            SELECT 1 FROM transactions t WHERE t.transaction_id = e.transaction_id
        )
        ORDER BY e.entry_id
        """,
        _entry_without_transaction,
    ),
    _Check(
        "PARTIAL_TRANSACTION",
        """
        SELECT t.transaction_id, count(e.entry_id)
        FROM transactions t LEFT JOIN entries e USING (transaction_id)
        GROUP BY t.transaction_id HAVING count(e.entry_id) < 2
        ORDER BY 1
        """,
        _partial,
    ),
    # Entry ids grow in the order the writer applies entries, so the
    # running sum in entry-id order is the balance after each entry.
    _Check(
        "ENTRY_BALANCE_MISMATCH",
        """
        SELECT r.entry_id, r.transaction_id, r.account_id, a.currency_code,
               r.running, r.balance_after
        FROM (
            SELECT entry_id, transaction_id, account_id, balance_after,
                   sum(amount) OVER (
                       PARTITION BY account_id ORDER BY entry_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                   ) AS running
            FROM entries
        ) r
        LEFT JOIN accounts a USING (account_id)
        WHERE r.running <> r.balance_after
        ORDER BY r.entry_id
        """,
        _entry_balance,
    ),
    # Every change of an entity sets its change_seq and writes one event
    # with that sequence in the same transaction. Events older than the
    # retained range may have been pruned, so only newer ones are required.
    _Check(
        "CHANGE_EVENT_MISSING",
        """
        SELECT x.entity_type, x.entity_id, x.change_seq
        FROM (
            SELECT 'CUSTOMER' AS entity_type, customer_id AS entity_id, change_seq
            FROM customers
            UNION ALL SELECT 'ACCOUNT', account_id, change_seq FROM accounts
            UNION ALL SELECT 'TRANSACTION', transaction_id, change_seq
            FROM transactions
        ) x
        WHERE x.change_seq >= (SELECT coalesce(min(seq), 0) FROM change_log)
          AND NOT EXISTS (
              SELECT 1 FROM change_log c
              WHERE c.seq = x.change_seq AND c.entity_type = x.entity_type
                AND c.entity_id = x.entity_id
          )
        ORDER BY x.change_seq
        """,
        _missing_event,
    ),
)

KINDS: tuple[str, ...] = tuple(check.kind for check in _CHECKS)


def run(cursor: duckdb.DuckDBPyConnection, max_violations: int) -> Report:
    """Run every check in one read transaction and return up to ``max_violations``.

    ``cursor`` must be a reader's own cursor: the transaction makes every
    check see the same committed snapshot.
    """
    report = Report()
    with transaction(cursor):
        report.accounts, report.transactions, report.entries = cursor.execute(
            "SELECT (SELECT count(*) FROM accounts), "
            "(SELECT count(*) FROM transactions), (SELECT count(*) FROM entries)"
        ).fetchone()
        report.oldest_sequence, report.latest_sequence = cursor.execute(
            "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM change_log"
        ).fetchone()
        for check in _CHECKS:
            room = max_violations - len(report.violations)
            rows = cursor.execute(f"{check.sql} LIMIT ?", [room + 1]).fetchall()
            if len(rows) > room:
                report.truncated = True
                rows = rows[:room]
            report.violations.extend(check.build(check.kind, *row) for row in rows)
            if report.truncated:
                break
    return report
