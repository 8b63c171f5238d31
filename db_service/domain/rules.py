"""Rules of the ledger, as pure functions over records.

Amounts are ints of minor units. Each check raises the ``LedgerError`` that
names the rule and the values involved, and returns nothing otherwise.
"""

from __future__ import annotations

from bank_common import account_rules, errors
from bank_common.validation import MAX_BALANCE
from db_service.domain.model import CLOSED, AccountRecord

# Kind of a single-account posting -> (direction on the customer account,
# purpose of the bank's own account on the other side).
CREDIT = 1
DEBIT = -1
BANK_SIDE: dict[str, tuple[int, str]] = {
    "DEPOSIT": (CREDIT, "CASH"),
    "WITHDRAWAL": (DEBIT, "CASH"),
    "INCOMING_PAYMENT": (CREDIT, "CLEARING"),
    "OUTGOING_PAYMENT": (DEBIT, "CLEARING"),
    "INTEREST": (CREDIT, "INTEREST"),
    "FEE": (DEBIT, "FEES"),
}


def check_customer_account(account: AccountRecord, role: str = "") -> None:
    """Reject the bank's own accounts where a customer account is expected."""
    if account.is_internal:
        label = f"{role} account" if role else "account"
        raise errors.FailedPrecondition(
            f"{label} {account.account_id} is one of the bank's own accounts, "
            "which only the ledger itself changes: use a customer account",
            reason="INTERNAL_ACCOUNT",
            account_id=account.account_id,
        )


def check_postable(account: AccountRecord, role: str = "") -> None:
    """Reject postings to frozen and closed accounts."""
    account_rules.check_postable(account.account_id, account.status, role)


def check_currency(account: AccountRecord, currency_code: str, field: str) -> None:
    account_rules.check_currency(
        account.account_id, account.currency_code, currency_code, field
    )


def check_transfer_currencies(
    source: AccountRecord, destination: AccountRecord
) -> None:
    """Reject a transfer between accounts of two currencies."""
    account_rules.check_transfer_currencies(
        source.account_id,
        source.currency_code,
        destination.account_id,
        destination.currency_code,
    )


def check_funds(account: AccountRecord, delta: int) -> None:
    """Reject a debit that would take the balance below minus the overdraft limit."""
    if delta >= 0 or account.overdraft_limit is None:
        return
    floor = -account.overdraft_limit
    if account.balance + delta < floor:
        available = account.balance - floor
        raise errors.InsufficientFunds(
            f"account {account.account_id} has {available} minor units available "
            f"(balance {account.balance}, overdraft limit {account.overdraft_limit}) "
            f"but the posting needs {-delta}: lower the amount or raise the limit",
            account_id=account.account_id,
            balance=account.balance,
            overdraft_limit=account.overdraft_limit,
            available=available,
            requested=-delta,
        )


def check_balance_range(account: AccountRecord, delta: int) -> None:
    new_balance = account.balance + delta
    if abs(new_balance) <= MAX_BALANCE:
        return
    if account.is_internal:
        # NOTE: no API moves money between the bank's own accounts, so one that
        # reaches the limit blocks postings in its currency until that exists.
        advice = (
            "it is one of the bank's own accounts, which cannot go further: report "
            "this to the bank's operators"
        )
    else:
        advice = "lower the amount"
    raise errors.BalanceOutOfRange(
        f"the posting would take account {account.account_id} to {new_balance} minor "
        f"units, beyond the ledger's limit of {MAX_BALANCE} either way: {advice}",
        account_id=account.account_id,
        max_abs_balance=MAX_BALANCE,
    )


def check_closable(account: AccountRecord) -> None:
    if account.status == CLOSED:
        raise errors.AccountClosed(
            f"account {account.account_id} is already closed: there is nothing "
            "left to close",
            account_id=account.account_id,
        )
    if account.balance != 0:
        raise errors.NonzeroBalance(
            f"account {account.account_id} has a balance of {account.balance} minor "
            "units: "
            "move the money out (or settle the overdraft) until it is 0, then close it",
            account_id=account.account_id,
            balance=account.balance,
        )


def check_version(kind: str, entity_id: int, current: int, expected: int) -> None:
    if current != expected:
        raise errors.VersionMismatch(
            f"{kind} {entity_id} is at version {current}, not {expected}: someone "
            "changed "
            "it since you read it. Read it again and reapply your change",
            entity_id=entity_id,
            current_version=current,
            expected_version=expected,
        )
