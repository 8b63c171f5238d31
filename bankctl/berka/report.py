"""The reconciliation report: rows posted with an amount other than the stated one."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from bankctl.berka.plan import Posting
from bankctl.berka.records import CZK_DIGITS
from bankctl.money import format_minor_units

COLUMNS = (
    "file",
    "line",
    "trans_id",
    "account_id",
    "date",
    "kind",
    "k_symbol",
    "stated_amount",
    "posted_amount",
    "difference",
    "balance",
)


def write(path: Path, postings: Iterable[Posting]) -> int:
    """Write one CSV row per reconciled posting, in file order; return how many.

    Amounts are in CZK with two decimals. ``posted_amount`` is the movement
    of the bank's balance and ``difference`` is posted minus stated. The
    file is replaced as a whole, so a rerun writes the same report.
    """
    reconciled = [posting for posting in postings if posting.reconciled]
    rows = [_row(posting) for posting in sorted(reconciled, key=_line)]
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    temporary.replace(path)
    return len(rows)


def _line(posting: Posting) -> int:
    return posting.trans.line


def _row(posting: Posting) -> list[str]:
    row = posting.trans
    return [
        "trans.asc",
        str(row.line),
        str(row.trans_id),
        str(row.account_id),
        row.date.isoformat(),
        row.kind,
        row.k_symbol,
        _czk(row.amount),
        _czk(posting.amount),
        _czk(posting.amount - row.amount),
        _czk(row.balance),
    ]


def _czk(haler: int) -> str:
    return format_minor_units(haler, CZK_DIGITS)
