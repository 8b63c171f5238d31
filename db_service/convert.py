"""Conversion between ledger records and bank.ledger.v1 messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from db_service.adapters.audit import KINDS as AUDIT_KINDS
from db_service.adapters.audit import Violation
from db_service.domain.model import (
    AccountRecord,
    CustomerRecord,
    EntryRecord,
    TransactionRecord,
)

CUSTOMER_STATUS = {
    "ACTIVE": pb.CUSTOMER_STATUS_ACTIVE,
    "DELETED": pb.CUSTOMER_STATUS_DELETED,
}
SEX = {"FEMALE": pb.SEX_FEMALE, "MALE": pb.SEX_MALE}
SEX_NAME = {value: key for key, value in SEX.items()}
ACCOUNT_TYPE = {
    "CHECKING": pb.ACCOUNT_TYPE_CHECKING,
    "SAVINGS": pb.ACCOUNT_TYPE_SAVINGS,
    "INTERNAL": pb.ACCOUNT_TYPE_INTERNAL,
}
ACCOUNT_TYPE_NAME = {value: key for key, value in ACCOUNT_TYPE.items()}
ACCOUNT_STATUS = {
    "ACTIVE": pb.ACCOUNT_STATUS_ACTIVE,
    "FROZEN": pb.ACCOUNT_STATUS_FROZEN,
    "CLOSED": pb.ACCOUNT_STATUS_CLOSED,
}
ACCOUNT_STATUS_NAME = {value: key for key, value in ACCOUNT_STATUS.items()}
HOLDER_ROLE = {"OWNER": pb.HOLDER_ROLE_OWNER, "AUTHORIZED": pb.HOLDER_ROLE_AUTHORIZED}
HOLDER_ROLE_NAME = {value: key for key, value in HOLDER_ROLE.items()}
KIND = {
    "DEPOSIT": pb.TRANSACTION_KIND_DEPOSIT,
    "WITHDRAWAL": pb.TRANSACTION_KIND_WITHDRAWAL,
    "TRANSFER": pb.TRANSACTION_KIND_TRANSFER,
    "INCOMING_PAYMENT": pb.TRANSACTION_KIND_INCOMING_PAYMENT,
    "OUTGOING_PAYMENT": pb.TRANSACTION_KIND_OUTGOING_PAYMENT,
    "INTEREST": pb.TRANSACTION_KIND_INTEREST,
    "FEE": pb.TRANSACTION_KIND_FEE,
    "REVERSAL": pb.TRANSACTION_KIND_REVERSAL,
}
KIND_NAME = {value: key for key, value in KIND.items()}
ENTITY_TYPE = {
    "CUSTOMER": pb.ENTITY_TYPE_CUSTOMER,
    "ACCOUNT": pb.ENTITY_TYPE_ACCOUNT,
    "TRANSACTION": pb.ENTITY_TYPE_TRANSACTION,
}
ENTITY_TYPE_NAME = {value: key for key, value in ENTITY_TYPE.items()}
CHANGE_KIND = {
    "CREATED": pb.CHANGE_KIND_CREATED,
    "UPDATED": pb.CHANGE_KIND_UPDATED,
    "DELETED": pb.CHANGE_KIND_DELETED,
    "BALANCE_CHANGED": pb.CHANGE_KIND_BALANCE_CHANGED,
    "CLOSED": pb.CHANGE_KIND_CLOSED,
    "POSTED": pb.CHANGE_KIND_POSTED,
}

AUDIT_VIOLATION_KIND = {
    kind: store.AuditViolationKind.Value(f"AUDIT_VIOLATION_KIND_{kind}")
    for kind in AUDIT_KINDS
}
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def timestamp(micros: int | None) -> Timestamp | None:
    if micros is None:
        return None
    seconds, rest = divmod(micros, 1_000_000)
    return Timestamp(seconds=seconds, nanos=rest * 1000)


def micros(value: Timestamp) -> int:
    return value.seconds * 1_000_000 + value.nanos // 1000


def customer_message(record: CustomerRecord) -> pb.Customer:
    message = pb.Customer(
        customer_id=record.customer_id,
        full_name=record.full_name,
        email=record.email or "",
        phone=record.phone or "",
        birth_date=record.birth_date or "",
        sex=SEX.get(record.sex or "", pb.SEX_UNSPECIFIED),
        region=record.region or "",
        status=CUSTOMER_STATUS[record.status],
        version=record.version,
        external_ref=record.external_ref or "",
        change_sequence=record.change_seq,
    )
    message.create_time.CopyFrom(timestamp(record.created_us))
    message.update_time.CopyFrom(timestamp(record.updated_us))
    return message


def account_message(record: AccountRecord) -> pb.Account:
    currency = record.currency_code
    message = pb.Account(
        account_id=record.account_id,
        currency_code=currency,
        type=ACCOUNT_TYPE[record.account_type],
        status=ACCOUNT_STATUS[record.status],
        nickname=record.nickname or "",
        balance=pb.Money(currency_code=currency, minor_units=record.balance),
        holders=[
            pb.AccountHolder(customer_id=customer_id, role=HOLDER_ROLE[role])
            for customer_id, role in record.holders
        ],
        version=record.version,
        external_ref=record.external_ref or "",
        change_sequence=record.change_seq,
    )
    if record.overdraft_limit is not None:
        message.overdraft_limit.CopyFrom(
            pb.Money(currency_code=currency, minor_units=record.overdraft_limit)
        )
    message.open_time.CopyFrom(timestamp(record.opened_us))
    message.update_time.CopyFrom(timestamp(record.updated_us))
    if record.closed_us is not None:
        message.close_time.CopyFrom(timestamp(record.closed_us))
    if record.last_activity_us is not None:
        message.last_activity_time.CopyFrom(timestamp(record.last_activity_us))
    return message


def entry_message(entry: EntryRecord, currency: str) -> pb.Entry:
    return pb.Entry(
        entry_id=entry.entry_id,
        account_id=entry.account_id,
        amount=pb.Money(currency_code=currency, minor_units=entry.amount),
        balance_after=pb.Money(currency_code=currency, minor_units=entry.balance_after),
    )


def transaction_message(
    record: TransactionRecord, currency_of: dict[int, str]
) -> pb.Transaction:
    """Build a Transaction; ``currency_of`` maps account ids to currency codes."""
    entries = [entry_message(e, currency_of[e.account_id]) for e in record.entries]
    moved = sum(e.amount for e in record.entries if e.amount > 0)
    currency = currency_of[record.entries[0].account_id] if record.entries else ""
    message = pb.Transaction(
        transaction_id=record.transaction_id,
        kind=KIND[record.kind],
        amount=pb.Money(currency_code=currency, minor_units=moved),
        entries=entries,
        description=record.description,
        value_date=record.value_date,
        external_ref=record.external_ref or "",
        imported=record.imported,
        reverses_transaction_id=record.reverses_transaction_id or 0,
        change_sequence=record.change_seq,
    )
    if record.counterparty_bank or record.counterparty_account:
        message.counterparty.CopyFrom(
            pb.Counterparty(
                bank_code=record.counterparty_bank or "",
                account_number=record.counterparty_account or "",
            )
        )
    message.post_time.CopyFrom(timestamp(record.posted_us))
    return message


def _int64(value: int) -> int:
    """Clamp a HUGEINT sum from a corrupt database into the int64 wire range."""
    return max(_INT64_MIN, min(_INT64_MAX, value))


def audit_violation_message(violation: Violation) -> store.AuditViolation:
    return store.AuditViolation(
        kind=AUDIT_VIOLATION_KIND[violation.kind],
        account_id=_int64(violation.account_id),
        transaction_id=_int64(violation.transaction_id),
        entry_id=_int64(violation.entry_id),
        currency_code=violation.currency_code or "",
        sequence=max(0, violation.sequence),
        expected=_int64(violation.expected),
        actual=_int64(violation.actual),
        message=violation.message,
    )
