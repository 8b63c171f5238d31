"""Account checks that both the ledger store and the transaction service apply.

The ledger store applies them inside the writing transaction and is the
authority; the transaction service applies them to its live view first, so
postings to accounts it already knows to be frozen or closed fail without a
round trip. Both raise the same errors with the same messages.
"""

from __future__ import annotations

from bank_common import errors


def check_postable(account_id: int, status: str, role: str = "") -> None:
    """Reject postings to frozen and closed accounts.

    ``status`` is a status name such as "FROZEN"; ``role`` ("source",
    "destination" or empty) labels the account in the message.
    """
    label = f"{role} account" if role else "account"
    if status == "FROZEN":
        raise errors.AccountFrozen(
            f"{label} {account_id} is frozen: set its status to "
            "ACCOUNT_STATUS_ACTIVE with UpdateAccount before posting to it",
            account_id=account_id,
        )
    if status == "CLOSED":
        raise errors.AccountClosed(
            f"{label} {account_id} is closed and accepts no postings: "
            "use an open account",
            account_id=account_id,
        )


def check_currency(
    account_id: int, account_currency: str, currency: str, field: str
) -> None:
    if account_currency != currency:
        raise errors.CurrencyMismatch(
            f"{field} is in {currency} but account {account_id} is in "
            f"{account_currency}: send the amount in {account_currency}",
            account_id=account_id,
            account_currency=account_currency,
            request_currency=currency,
        )


def check_transfer_currencies(
    source_id: int, source_currency: str, destination_id: int, destination_currency: str
) -> None:
    """Reject a transfer between accounts of two currencies.

    Checked before the amount's currency, because no amount fits both.
    """
    if source_currency != destination_currency:
        raise errors.CurrencyMismatch(
            f"source account {source_id} is in {source_currency} but destination "
            f"account {destination_id} is in {destination_currency}: transfer "
            "between two accounts of the same currency",
            account_id=destination_id,
            account_currency=destination_currency,
            source_account_id=source_id,
            source_currency=source_currency,
        )
