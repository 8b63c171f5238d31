"""Validation of posting requests, shared by the ledger store and the
transaction service, so both reject a malformed posting with the same error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors, validation

DESCRIPTION_MAX = 200
# Bank codes such as "0800" or "KOMB"; account numbers such as
# "19-2000145399/0800" or an IBAN.
_BANK_CODE = re.compile(r"[A-Za-z0-9]+")
_ACCOUNT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]*")
EXTERNAL_REF_MAX = 128
_POSTABLE_KINDS = (
    "DEPOSIT",
    "WITHDRAWAL",
    "TRANSFER",
    "INCOMING_PAYMENT",
    "OUTGOING_PAYMENT",
    "INTEREST",
    "FEE",
)


@dataclass(frozen=True)
class Posting:
    """A checked PostTransaction request. Amounts are minor units."""

    kind: str
    """Transaction kind without its prefix, e.g. "DEPOSIT"."""
    account_id: int
    counter_account_id: int
    """The transfer destination; 0 for every other kind."""
    currency: str
    amount: int
    description: str | None
    counterparty_bank: str | None
    counterparty_account: str | None
    value_date: str | None
    external_ref: str | None
    imported: bool


def validate_posting(
    request: store.PostTransactionRequest, currencies: frozenset[str]
) -> Posting:
    """Check every field of ``request``; raise InvalidArgument on the first bad one."""
    kind = _kind(request.kind)
    account_id = validation.positive_id(request.account_id, "account_id", "account")
    counter_account_id = _counter_account(request, kind)

    if not request.HasField("amount"):
        raise errors.InvalidArgument(
            "amount is missing: give it as currency_code and minor_units, for "
            'example {"currency_code": "CZK", "minor_units": 12550}',
            field="amount",
            reason="MISSING_FIELD",
        )
    currency = validation.currency_code(
        request.amount.currency_code, "amount.currency_code", currencies
    )
    amount = validation.amount(request.amount.minor_units, "amount.minor_units")
    description = validation.text(request.description, "description", DESCRIPTION_MAX)
    bank, account = _counterparty(request.counterparty, kind)

    value_date = validation.past_date(request.value_date, "value_date", slack_days=1)
    external_ref = validation.text(
        request.external_ref, "external_ref", EXTERNAL_REF_MAX
    )
    if request.imported and not (external_ref and value_date):
        raise errors.InvalidArgument(
            "an imported transaction needs external_ref and value_date: set both to "
            "the source system's reference and date",
            field="value_date" if external_ref else "external_ref",
            reason="MISSING_FIELD",
        )

    return Posting(
        kind=kind,
        account_id=account_id,
        counter_account_id=counter_account_id,
        currency=currency,
        amount=amount,
        description=description,
        counterparty_bank=bank,
        counterparty_account=account,
        value_date=value_date,
        external_ref=external_ref,
        imported=request.imported,
    )


def _counterparty(
    counterparty: pb.Counterparty, kind: str
) -> tuple[str | None, str | None]:
    """Check the account at another bank: required on payments, absent on transfers."""
    bank = _account_code(
        counterparty.bank_code, "counterparty.bank_code", 32, _BANK_CODE
    )
    account = _account_code(
        counterparty.account_number, "counterparty.account_number", 64, _ACCOUNT_NUMBER
    )
    if kind == "TRANSFER" and (bank or account):
        raise errors.InvalidArgument(
            "counterparty is set on a transfer between accounts of this bank: leave "
            "it unset, or post an OUTGOING_PAYMENT to the other bank",
            field="counterparty",
            reason="UNEXPECTED_FIELD",
        )
    if kind in ("INCOMING_PAYMENT", "OUTGOING_PAYMENT") and not (bank and account):
        raise errors.InvalidArgument(
            f"an {kind} needs the account at the other bank: set "
            "counterparty.bank_code and counterparty.account_number",
            field="counterparty.account_number" if bank else "counterparty.bank_code",
            reason="MISSING_FIELD",
        )
    return bank, account


def _account_code(value: str, field: str, max_length: int, pattern) -> str | None:
    checked = validation.text(value, field, max_length)
    if checked is not None and not pattern.fullmatch(checked):
        raise errors.InvalidArgument(
            f"{field} {validation.clip(checked)!r} is not a bank code or account "
            "number: use letters A-Z, digits and, in account numbers, '-' and '/'",
            field=field,
            reason="INVALID_TEXT",
        )
    return checked


def _kind(value: int) -> str:
    name = ""
    if value in pb.TransactionKind.values():
        name = pb.TransactionKind.Name(value).removeprefix("TRANSACTION_KIND_")
    if name not in _POSTABLE_KINDS:
        raise errors.InvalidArgument(
            f"kind {validation.enum_name(pb.TransactionKind, value)} cannot be posted "
            "here: use one of "
            f"{', '.join(_POSTABLE_KINDS)} (ReverseTransaction posts reversals)",
            field="kind",
            reason="INVALID_ENUM",
        )
    return name


def _counter_account(request: store.PostTransactionRequest, kind: str) -> int:
    if kind != "TRANSFER":
        if request.counter_account_id:
            raise errors.InvalidArgument(
                f"counter_account_id is set on a {kind}: only transfers name a second "
                "account of this bank",
                field="counter_account_id",
                reason="UNEXPECTED_FIELD",
            )
        return 0
    counter = validation.positive_id(
        request.counter_account_id, "counter_account_id", "destination account"
    )
    if counter == request.account_id:
        raise errors.InvalidArgument(
            f"the transfer's source and destination are both account {counter}: name "
            "two different accounts",
            field="counter_account_id",
            reason="SAME_ACCOUNT",
        )
    return counter
