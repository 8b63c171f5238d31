"""Resources as rows of text for the table output."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from bank.ledger.v1 import resources_pb2 as pb
from bankctl.money import format_amount


def enum_name(enum: EnumTypeWrapper, value: int, prefix: str) -> str:
    """Return an enum value's name without its prefix, "" for the zero value.

    For example ACCOUNT_STATUS_ACTIVE becomes ACTIVE.
    """
    try:
        name = enum.Name(value)
    except ValueError:
        return str(value)
    return name.removeprefix(prefix) if value else ""


def timestamp(value: timestamp_pb2.Timestamp) -> str:
    """Format a timestamp in UTC to the second, or "" when unset."""
    if not value.seconds and not value.nanos:
        return ""
    moment = value.ToDatetime(tzinfo=dt.UTC)
    return moment.isoformat(sep=" ", timespec="seconds").replace("+00:00", "Z")


def money(value: pb.Money) -> str:
    if not value.currency_code:
        return ""
    return format_amount(value.minor_units, value.currency_code)


def counterparty(value: pb.Counterparty) -> str:
    if not value.bank_code and not value.account_number:
        return ""
    return f"{value.account_number}/{value.bank_code}"


def customer_fields(customer: pb.Customer) -> list[tuple[str, str]]:
    return [
        ("customer_id", str(customer.customer_id)),
        ("full_name", customer.full_name),
        ("status", enum_name(pb.CustomerStatus, customer.status, "CUSTOMER_STATUS_")),
        ("birth_date", customer.birth_date),
        ("sex", enum_name(pb.Sex, customer.sex, "SEX_")),
        ("region", customer.region),
        ("email", customer.email),
        ("phone", customer.phone),
        ("external_ref", customer.external_ref),
        ("version", str(customer.version)),
        ("created", timestamp(customer.create_time)),
        ("updated", timestamp(customer.update_time)),
    ]


def holders(account: pb.Account) -> str:
    parts = []
    for holder in account.holders:
        role = enum_name(pb.HolderRole, holder.role, "HOLDER_ROLE_")
        parts.append(f"{holder.customer_id} ({role})")
    return ", ".join(parts)


def account_fields(account: pb.Account) -> list[tuple[str, str]]:
    limit = (
        money(account.overdraft_limit) if account.HasField("overdraft_limit") else ""
    )
    return [
        ("account_id", str(account.account_id)),
        ("status", enum_name(pb.AccountStatus, account.status, "ACCOUNT_STATUS_")),
        ("type", enum_name(pb.AccountType, account.type, "ACCOUNT_TYPE_")),
        ("balance", money(account.balance)),
        ("overdraft_limit", limit),
        ("holders", holders(account)),
        ("nickname", account.nickname),
        ("external_ref", account.external_ref),
        ("version", str(account.version)),
        ("opened", timestamp(account.open_time)),
        ("closed", timestamp(account.close_time)),
        ("last_activity", timestamp(account.last_activity_time)),
    ]


def kind(value: int) -> str:
    return enum_name(pb.TransactionKind, value, "TRANSACTION_KIND_")


def transaction_fields(transaction: pb.Transaction) -> list[tuple[str, str]]:
    fields = [
        ("transaction_id", str(transaction.transaction_id)),
        ("kind", kind(transaction.kind)),
        ("amount", money(transaction.amount)),
        ("value_date", transaction.value_date),
        ("description", transaction.description),
        ("counterparty", counterparty(transaction.counterparty)),
        ("external_ref", transaction.external_ref),
        ("imported", "yes" if transaction.imported else "no"),
        ("posted", timestamp(transaction.post_time)),
    ]
    for entry in transaction.entries:
        fields.append(
            (
                f"entry {entry.entry_id}",
                f"account {entry.account_id}: {money(entry.amount)}, balance "
                f"after {money(entry.balance_after)}",
            )
        )
    return fields
