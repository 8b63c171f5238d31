"""The import plan: what to create and post, in which order, and what to hold back.

Building the plan reads every file and checks every row before anything is
sent, so a bad row is reported with its file and line and never reaches the
ledger. A row that fails holds back what depends on it, and everything else
goes ahead:

- a rejected client row holds back the accounts that client holds;
- a rejected account or disposition row holds back that account and its
  rows in disp.asc and trans.asc;
- a rejected or unplaceable transaction row holds back every transaction of
  its account, because each posting's amount comes from the balance of the
  row before it.

Within one account, the rows of a day are put in the order in which each
row's balance follows from the previous one, and each is posted with the
movement of the bank's balance rather than its stated amount. The two differ
by a rounding of at most ``tolerance`` haléř on some rows, which are listed in
the reconciliation report.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bankctl.berka import records
from bankctl.berka.records import Account, Client, RowError, Trans
from bankctl.money import format_minor_units

# Largest difference between a row's stated amount and the movement of the
# bank's balance that still counts as rounding: 0.10 CZK, the largest seen
# in the January to May 1993 rows.
DEFAULT_TOLERANCE = 10

# Orderings of one account's day tried before giving up on it. A day has a
# handful of rows, which usually admit exactly one ordering.
SEARCH_BUDGET = 100_000

ROLES = {"OWNER": "OWNER", "DISPONENT": "AUTHORIZED"}


@dataclass(frozen=True)
class Posting:
    """One transaction row as it will be posted."""

    trans: Trans
    amount: int
    """The movement of the bank's balance in haléř, positive; the kind gives
    the direction."""

    @property
    def reconciled(self) -> bool:
        """Whether the posted amount differs from the row's stated amount."""
        return self.amount != self.trans.amount


@dataclass
class AccountPlan:
    account: Account
    holders: list[tuple[int, str]]
    """(client_id, "OWNER" or "AUTHORIZED"), owners first."""
    postings: list[Posting] = field(default_factory=list)
    """In posting order; empty when the account's transactions are held back."""
    final_balance: int = 0
    """The bank's balance after the account's last row, in haléř."""
    transactions_held_back: int = 0


@dataclass
class ImportPlan:
    customers: list[Client]
    regions: dict[int, str]
    """District names by district_id."""
    accounts: list[AccountPlan]
    errors: list[RowError]
    accounts_held_back: int
    transactions_held_back: int
    folder: Path = Path(".")
    """The folder the files were read from, to name them in errors."""

    @property
    def postings(self) -> Iterable[Posting]:
        for account in self.accounts:
            yield from account.postings

    @property
    def transaction_count(self) -> int:
        return sum(len(account.postings) for account in self.accounts)

    @property
    def reconciled(self) -> list[Posting]:
        return [posting for posting in self.postings if posting.reconciled]


def build(folder: Path, tolerance: int = DEFAULT_TOLERANCE) -> ImportPlan:
    """Read the folder and plan the import.

    Raises records.SourceFileError when a file is missing or has the wrong
    header. Bad rows do not raise: they are in the plan's ``errors``.
    """
    errors: list[RowError] = []

    def read(spec: records.FileSpec) -> list:
        rows, failures = records.read(folder, spec)
        errors.extend(failures)
        return _unique(rows, spec, errors)

    districts = {d.district_id: d.name for d in read(records.DISTRICTS)}
    clients = _clients_in_districts(read(records.CLIENTS), districts, errors)
    accounts = _accounts_in_districts(read(records.ACCOUNTS), districts, errors)
    rejected = _rejected_accounts(errors, "account.asc") - accounts.keys()
    dispositions = read(records.DISPOSITIONS)
    holders, held = _holders(dispositions, clients, accounts, rejected, errors)
    plans = _account_plans(accounts, holders, held, errors)
    by_account = _transactions_by_account(
        read(records.TRANSACTIONS), accounts, rejected, errors
    )
    _name_rows_held_by_accounts(rejected, dispositions, by_account, errors)
    held_transactions = sum(
        len(rows) for account_id, rows in by_account.items() if account_id not in plans
    )
    for plan in plans.values():
        rows = by_account.get(plan.account.account_id, [])
        _plan_postings(plan, rows, tolerance, errors)
        held_transactions += plan.transactions_held_back

    errors.sort(key=lambda error: (_FILE_ORDER.get(error.file, 9), error.line))
    return ImportPlan(
        customers=list(clients.values()),
        regions=districts,
        accounts=list(plans.values()),
        errors=errors,
        accounts_held_back=len(accounts) + len(rejected) - len(plans),
        transactions_held_back=held_transactions,
        folder=folder,
    )


_FILE_ORDER = {
    "district.asc": 0,
    "client.asc": 1,
    "account.asc": 2,
    "disp.asc": 3,
    "trans.asc": 4,
}

_KEYS = {
    "district.asc": "district_id",
    "client.asc": "client_id",
    "account.asc": "account_id",
    "disp.asc": "disp_id",
    "trans.asc": "trans_id",
}


def _unique(rows: list, spec: records.FileSpec, errors: list[RowError]) -> list:
    """Drop rows whose id repeats an earlier row's, with an error for each."""
    key = _KEYS[spec.name]
    first_line: dict[int, int] = {}
    unique = []
    for row in rows:
        value = getattr(row, key)
        if value in first_line:
            errors.append(
                RowError(
                    spec.name,
                    row.line,
                    f"{key} {value} repeats the row on line {first_line[value]}",
                )
            )
            continue
        first_line[value] = row.line
        unique.append(row)
    return unique


def _clients_in_districts(
    clients: list[Client], districts: dict[int, str], errors: list[RowError]
) -> dict[int, Client]:
    known = {}
    for client in clients:
        if client.district_id not in districts:
            errors.append(
                RowError(
                    "client.asc",
                    client.line,
                    f"district_id {client.district_id} is not in district.asc",
                )
            )
            continue
        known[client.client_id] = client
    return known


def _accounts_in_districts(
    accounts: list[Account], districts: dict[int, str], errors: list[RowError]
) -> dict[int, Account]:
    known = {}
    for account in accounts:
        if account.district_id not in districts:
            errors.append(
                RowError(
                    "account.asc",
                    account.line,
                    f"district_id {account.district_id} is not in district.asc",
                    account.account_id,
                )
            )
            continue
        known[account.account_id] = account
    return known


def _rejected_accounts(errors: list[RowError], file: str) -> set[int]:
    return {
        error.account_id
        for error in errors
        if error.file == file and error.account_id is not None
    }


def _holders(
    dispositions: list[records.Disposition],
    clients: dict[int, Client],
    accounts: dict[int, Account],
    rejected: set[int],
    errors: list[RowError],
) -> tuple[dict[int, list[tuple[int, str]]], dict[int, str]]:
    """Group the dispositions by account.

    Returns the holders of each account and, for accounts held back by a bad
    disposition, the reason.
    """
    holders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    held: dict[int, str] = {}
    for disp in dispositions:
        if disp.account_id in rejected:
            continue
        if disp.account_id not in accounts:
            errors.append(
                RowError(
                    "disp.asc",
                    disp.line,
                    f"account_id {disp.account_id} is not in account.asc",
                )
            )
            continue
        problem = None
        if disp.client_id not in clients:
            problem = f"client_id {disp.client_id} is not an imported client"
        elif any(
            client_id == disp.client_id for client_id, _ in holders[disp.account_id]
        ):
            problem = f"client {disp.client_id} is named twice for this account"
        if problem:
            errors.append(RowError("disp.asc", disp.line, problem))
            held[disp.account_id] = (
                f"account {disp.account_id} is held back by its disposition on "
                f"disp.asc line {disp.line}"
            )
            continue
        holders[disp.account_id].append((disp.client_id, ROLES[disp.role]))
    return holders, held


def _account_plans(
    accounts: dict[int, Account],
    holders: dict[int, list[tuple[int, str]]],
    held: dict[int, str],
    errors: list[RowError],
) -> dict[int, AccountPlan]:
    plans = {}
    for account_id, account in accounts.items():
        reason = held.get(account_id) or _owner_missing(holders[account_id])
        if reason:
            errors.append(RowError("account.asc", account.line, reason, account_id))
            continue
        plans[account_id] = AccountPlan(account, _owners_first(holders[account_id]))
    return plans


def _owner_missing(holders: list[tuple[int, str]]) -> str | None:
    if any(role == "OWNER" for _, role in holders):
        return None
    return "the account has no OWNER in disp.asc"


def _owners_first(holders: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return sorted(holders, key=lambda holder: holder[1] != "OWNER")


def _transactions_by_account(
    rows: list[Trans],
    accounts: dict[int, Account],
    rejected: set[int],
    errors: list[RowError],
) -> dict[int, list[Trans]]:
    by_account: dict[int, list[Trans]] = defaultdict(list)
    for row in rows:
        if row.account_id in rejected:
            by_account[row.account_id].append(row)
            continue
        if row.account_id not in accounts:
            errors.append(
                RowError(
                    "trans.asc",
                    row.line,
                    f"account_id {row.account_id} is not in account.asc",
                )
            )
            continue
        by_account[row.account_id].append(row)
    return by_account


def _name_rows_held_by_accounts(
    rejected: set[int],
    dispositions: list[records.Disposition],
    by_account: dict[int, list[Trans]],
    errors: list[RowError],
) -> None:
    """Name, in the error of each rejected account.asc line, the rows it holds back.

    Those disp.asc and trans.asc rows get no error of their own, because
    their account is in account.asc, only on a line that failed.
    """
    held_dispositions: dict[int, int] = defaultdict(int)
    for disp in dispositions:
        if disp.account_id in rejected:
            held_dispositions[disp.account_id] += 1
    unnamed = set(rejected)
    for index, error in enumerate(errors):
        account_id = error.account_id
        if error.file != "account.asc" or account_id not in unnamed:
            continue
        unnamed.discard(account_id)
        errors[index] = replace(
            error,
            reason=f"{error.reason}; account {account_id} is held back until this "
            f"line is fixed, and so are its rows: {held_dispositions[account_id]} "
            f"in disp.asc and {len(by_account.get(account_id, []))} in trans.asc",
        )


def _plan_postings(
    plan: AccountPlan, rows: list[Trans], tolerance: int, errors: list[RowError]
) -> None:
    """Order the account's rows and set their postings, or hold them all back."""
    account_id = plan.account.account_id
    bad = [
        index
        for index, error in enumerate(errors)
        if error.file == "trans.asc" and error.account_id == account_id
    ]
    if bad:
        first = errors[bad[0]]
        others = "1 other row" if len(rows) == 1 else f"{len(rows)} other rows"
        errors[bad[0]] = replace(
            first,
            reason=f"{first.reason}; the {others} of account {account_id} "
            f"{'is' if len(rows) == 1 else 'are'} held back until it is fixed",
        )
        plan.transactions_held_back = len(rows)
        return
    try:
        plan.postings = posting_order(rows, tolerance)
    except OrderingError as error:
        errors.append(RowError("trans.asc", error.line, str(error), account_id))
        plan.transactions_held_back = len(rows)
        return
    if rows:
        plan.final_balance = plan.postings[-1].trans.balance


class OrderingError(ValueError):
    """The rows of one day admit no order in which each balance follows."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def posting_order(
    rows: list[Trans], tolerance: int = DEFAULT_TOLERANCE
) -> list[Posting]:
    """Put one account's rows in posting order and derive each posted amount.

    Days go in date order, starting from a balance of zero. Within a day,
    the rows go in the order in which each row's balance follows from the
    previous one: its movement has the direction of its kind and differs
    from the stated amount by at most ``tolerance`` haléř. Where several
    orders fit, rows whose movement equals the stated amount come first.
    Raises OrderingError naming the day's first line when no order fits.
    """
    postings: list[Posting] = []
    balance = 0
    day_of = operator.attrgetter("date")
    for day, day_rows in itertools.groupby(sorted(rows, key=day_of), key=day_of):
        ordered = _order_day(list(day_rows), balance, tolerance, day)
        for row in ordered:
            postings.append(Posting(row, abs(row.balance - balance)))
            balance = row.balance
    return postings


def _order_day(
    rows: list[Trans], opening: int, tolerance: int, day: dt.date
) -> list[Trans]:
    """Search depth-first for an order of one day's rows; see posting_order."""
    budget = SEARCH_BUDGET
    path: list[Trans] = []

    def extend(balance: int, remaining: list[Trans]) -> bool:
        nonlocal budget
        if not remaining:
            return True
        for row in _next_rows(balance, remaining, tolerance):
            budget -= 1
            if budget < 0:
                return False
            path.append(row)
            if extend(row.balance, [r for r in remaining if r is not row]):
                return True
            path.pop()
        return False

    if extend(opening, rows):
        return path
    lines = ", ".join(str(row.line) for row in sorted(rows, key=lambda r: r.line))
    if budget < 0:
        raise OrderingError(
            f"the rows of account {rows[0].account_id} on {day} (lines {lines}) "
            f"were not ordered within {SEARCH_BUDGET} tries: check them by hand",
            min(row.line for row in rows),
        )
    raise OrderingError(
        f"the rows of account {rows[0].account_id} on {day} (lines {lines}) fit no "
        f"order in which each balance follows from the one before, starting from "
        f"{format_czk(opening)} CZK, with a rounding of at most "
        f"{format_czk(tolerance)} CZK",
        min(row.line for row in rows),
    )


def _next_rows(balance: int, remaining: list[Trans], tolerance: int) -> list[Trans]:
    """Rows that can follow ``balance``, closest to their stated amount first."""
    fitting = []
    for row in remaining:
        movement = row.balance - balance
        if movement == 0 or (movement > 0) != row.is_credit:
            continue
        difference = abs(abs(movement) - row.amount)
        if difference <= tolerance:
            fitting.append((difference, row.line, row))
    return [row for _, _, row in sorted(fitting, key=lambda item: item[:2])]


def format_czk(haler: int) -> str:
    return format_minor_units(haler, records.CZK_DIGITS)
