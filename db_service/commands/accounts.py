"""Commands that open, change and close accounts, and create the bank's own."""

from __future__ import annotations

import dataclasses
import time

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors, validation
from db_service import convert
from db_service.adapters.schema import BANK_ACCOUNT_PURPOSES
from db_service.batch import Batch
from db_service.commands.base import Command, external_ref
from db_service.commands.customers import check_mask
from db_service.domain import rules
from db_service.domain.model import (
    ACTIVE,
    CLOSED,
    DELETED,
    FROZEN,
    INTERNAL,
    AccountRecord,
)

UPDATABLE_FIELDS = ("nickname", "overdraft_limit", "status")
MAX_HOLDERS = 20
# Opening times more than this far ahead of the clock are rejected as typos.
_FUTURE_SLACK_US = 24 * 3600 * 1_000_000


def _nickname(value: str) -> str | None:
    return validation.text(value, "account.nickname", 100)


def _overdraft_limit(limit: pb.Money, currency: str, field: str) -> int:
    if limit.currency_code and limit.currency_code != currency:
        raise errors.InvalidArgument(
            f"{field} is in {validation.clip(limit.currency_code)} but the account "
            f"is in {currency}: send the limit in {currency}",
            field=field,
            reason="CURRENCY_MISMATCH",
        )
    if limit.minor_units < 0 or limit.minor_units > validation.MAX_AMOUNT:
        raise errors.InvalidArgument(
            f"{field} is {limit.minor_units}: use 0 (no overdraft) up to "
            f"{validation.MAX_AMOUNT} minor units",
            field=field,
            reason="INVALID_AMOUNT",
        )
    return limit.minor_units


def _holders(holders, field: str = "account.holders") -> tuple[tuple[int, str], ...]:
    if not holders:
        raise errors.InvalidArgument(
            f"{field} is empty: name at least one customer with HOLDER_ROLE_OWNER",
            field=field,
            reason="MISSING_FIELD",
        )
    if len(holders) > MAX_HOLDERS:
        raise errors.InvalidArgument(
            f"{field} has {len(holders)} entries: an account has at most "
            f"{MAX_HOLDERS} holders",
            field=field,
            reason="TOO_MANY_HOLDERS",
        )
    pairs: list[tuple[int, str]] = []
    for index, holder in enumerate(holders):
        item = f"{field}[{index}]"
        validation.positive_id(holder.customer_id, f"{item}.customer_id", "customer")
        role = convert.HOLDER_ROLE_NAME.get(holder.role)
        if role is None:
            raise errors.InvalidArgument(
                f"{item}.role is missing or unknown: use HOLDER_ROLE_OWNER or "
                "HOLDER_ROLE_AUTHORIZED",
                field=f"{item}.role",
                reason="INVALID_ENUM",
            )
        pairs.append((holder.customer_id, role))
    if len({customer_id for customer_id, _ in pairs}) != len(pairs):
        raise errors.InvalidArgument(
            f"{field} names a customer twice: list each customer once, with one role",
            field=field,
            reason="DUPLICATE_HOLDER",
        )
    if all(role != "OWNER" for _, role in pairs):
        raise errors.InvalidArgument(
            f"{field} has no owner: give at least one holder HOLDER_ROLE_OWNER",
            field=field,
            reason="MISSING_OWNER",
        )
    owners_first = sorted(pairs, key=lambda pair: (pair[1] != "OWNER", pair[0]))
    return tuple(owners_first)


class OpenAccount(Command):
    method = "OpenAccount"
    response_type = store.OpenAccountResponse

    def __init__(self, request: store.OpenAccountRequest, currencies: frozenset[str]):
        super().__init__(request)
        account = request.account
        self.currency = validation.currency_code(
            account.currency_code, "account.currency_code", currencies
        )
        if account.type not in (pb.ACCOUNT_TYPE_CHECKING, pb.ACCOUNT_TYPE_SAVINGS):
            raise errors.InvalidArgument(
                "account.type is "
                f"{validation.enum_name(pb.AccountType, account.type)}: use "
                "ACCOUNT_TYPE_CHECKING or ACCOUNT_TYPE_SAVINGS; the bank's own "
                "accounts are not opened by hand",
                field="account.type",
                reason="INVALID_ENUM",
            )
        self.account_type = convert.ACCOUNT_TYPE_NAME[account.type]
        self.nickname = _nickname(account.nickname)
        self.overdraft_limit = _overdraft_limit(
            account.overdraft_limit, self.currency, "account.overdraft_limit"
        )
        self.holders = _holders(account.holders)
        self.external_ref = external_ref(account.external_ref, "account.external_ref")
        self.opened_us = None
        if account.HasField("open_time"):
            self.opened_us = validation.time_micros(
                account.open_time.seconds, account.open_time.nanos, "account.open_time"
            )
            if self.opened_us > time.time_ns() // 1000 + _FUTURE_SLACK_US:
                raise errors.InvalidArgument(
                    "account.open_time is in the future: leave it unset to open now",
                    field="account.open_time",
                    reason="INVALID_TIME",
                )

    def customer_ids(self) -> set[int]:
        return {customer_id for customer_id, _ in self.holders}

    def external_refs(self) -> dict[str, str]:
        return {"account": self.external_ref} if self.external_ref else {}

    def execute(self, batch: Batch) -> store.OpenAccountResponse:
        for customer_id, _ in self.holders:
            customer = batch.customer(customer_id, "account.holders.customer_id")
            if customer.status == DELETED:
                raise errors.CustomerDeleted(
                    f"customer {customer_id} is deleted and cannot hold a new "
                    "account: name an active customer as holder",
                    customer_id=customer_id,
                )
        if self.external_ref and batch.external_ref_taken("account", self.external_ref):
            raise errors.ExternalRefTaken(
                f"account.external_ref {self.external_ref!r} is already used by "
                "another "
                "account: look it up with GetAccount, or use another reference",
                external_ref=self.external_ref,
            )
        record = AccountRecord(
            account_id=batch.new_account_id(),
            currency_code=self.currency,
            account_type=self.account_type,
            status=ACTIVE,
            nickname=self.nickname,
            overdraft_limit=self.overdraft_limit,
            balance=0,
            version=1,
            external_ref=self.external_ref,
            opened_us=self.opened_us if self.opened_us is not None else batch.now_us,
            closed_us=None,
            updated_us=batch.now_us,
            last_activity_us=None,
            change_seq=0,
            holders=self.holders,
        )
        record = batch.stage_account(record, "CREATED", created=True)
        return store.OpenAccountResponse(
            account=convert.account_message(record), commit_sequence=batch.last_seq
        )


def _customer_account(batch: Batch, account_id: int) -> AccountRecord:
    account = batch.account(account_id)
    rules.check_customer_account(account)
    return account


class UpdateAccount(Command):
    method = "UpdateAccount"
    response_type = store.UpdateAccountResponse

    def __init__(self, request: store.UpdateAccountRequest):
        super().__init__(request)
        account = request.account
        self.account_id = validation.positive_id(
            account.account_id, "account.account_id", "account"
        )
        self.expected_version = validation.version(request.expected_version)
        self.paths = list(request.update_mask.paths)
        check_mask(self.paths, UPDATABLE_FIELDS, "account")
        self.nickname = (
            _nickname(account.nickname) if "nickname" in self.paths else None
        )
        self.limit = account.overdraft_limit
        self.status = None
        if "status" in self.paths:
            self.status = convert.ACCOUNT_STATUS_NAME.get(account.status)
            if self.status is None:
                raise errors.InvalidArgument(
                    "account.status is missing or unknown: use ACCOUNT_STATUS_ACTIVE "
                    "or "
                    "ACCOUNT_STATUS_FROZEN",
                    field="account.status",
                    reason="INVALID_STATUS",
                )
            if self.status not in (ACTIVE, FROZEN):
                raise errors.InvalidArgument(
                    f"account.status {self.status} cannot be set with UpdateAccount: "
                    "use "
                    "ACCOUNT_STATUS_ACTIVE or ACCOUNT_STATUS_FROZEN, and CloseAccount "
                    "to close",
                    field="account.status",
                    reason="INVALID_STATUS",
                )

    def account_ids(self) -> set[int]:
        return {self.account_id}

    def execute(self, batch: Batch) -> store.UpdateAccountResponse:
        current = _customer_account(batch, self.account_id)
        if current.status == CLOSED:
            raise errors.AccountClosed(
                f"account {self.account_id} is closed and can no longer change: "
                "open a new account instead",
                account_id=self.account_id,
            )
        rules.check_version(
            "account", self.account_id, current.version, self.expected_version
        )
        changes: dict[str, object] = {}
        if "nickname" in self.paths:
            changes["nickname"] = self.nickname
        if "overdraft_limit" in self.paths:
            changes["overdraft_limit"] = self._new_limit(current)
        if self.status is not None:
            changes["status"] = self.status
        record = dataclasses.replace(
            current, **changes, version=current.version + 1, updated_us=batch.now_us
        )
        record = batch.stage_account(record, "UPDATED")
        return store.UpdateAccountResponse(
            account=convert.account_message(record), commit_sequence=batch.last_seq
        )

    def _new_limit(self, current: AccountRecord) -> int:
        limit = _overdraft_limit(
            self.limit, current.currency_code, "account.overdraft_limit"
        )
        if current.balance < -limit:
            raise errors.FailedPrecondition(
                f"account {current.account_id} is overdrawn by {-current.balance} "
                f"minor units, so its overdraft limit cannot be {limit}: set at "
                f"least {-current.balance}, or repay the overdraft first",
                reason="OVERDRAFT_IN_USE",
                account_id=current.account_id,
                balance=current.balance,
            )
        return limit


class CloseAccount(Command):
    method = "CloseAccount"
    response_type = store.CloseAccountResponse

    def __init__(self, request: store.CloseAccountRequest):
        super().__init__(request)
        self.account_id = validation.positive_id(
            request.account_id, "account_id", "account"
        )
        self.expected_version = validation.version(request.expected_version)

    def account_ids(self) -> set[int]:
        return {self.account_id}

    def execute(self, batch: Batch) -> store.CloseAccountResponse:
        current = _customer_account(batch, self.account_id)
        rules.check_closable(current)
        rules.check_version(
            "account", self.account_id, current.version, self.expected_version
        )
        record = dataclasses.replace(
            current,
            status=CLOSED,
            closed_us=batch.now_us,
            version=current.version + 1,
            updated_us=batch.now_us,
        )
        record = batch.stage_account(record, "CLOSED")
        return store.CloseAccountResponse(
            account=convert.account_message(record), commit_sequence=batch.last_seq
        )


def create_missing_bank_accounts(batch: Batch, currencies: list[str]) -> int:
    """Open the bank's own accounts that a currency lacks; return how many."""
    created = 0
    for currency in currencies:
        for purpose in BANK_ACCOUNT_PURPOSES:
            if (currency, purpose) in batch.bank_accounts:
                continue
            record = AccountRecord(
                account_id=batch.new_account_id(),
                currency_code=currency,
                account_type=INTERNAL,
                status=ACTIVE,
                nickname=f"bank {purpose.lower()} {currency}",
                overdraft_limit=None,
                balance=0,
                version=1,
                external_ref=None,
                opened_us=batch.now_us,
                closed_us=None,
                updated_us=batch.now_us,
                last_activity_us=None,
                change_seq=0,
                holders=(),
            )
            record = batch.stage_account(record, "CREATED", created=True)
            batch.stage_bank_account(currency, purpose, record.account_id)
            created += 1
    return created
