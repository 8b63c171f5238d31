"""Every error reason the public APIs can return, with its code and no side effect.

Each table row is one way to fail: the call, the expected gRPC status code,
the ErrorInfo reason, and a value the message must name. Each row also
checks that the failed call changed nothing. Every committed change appends
to the change feed, so the ledger store's latest sequence must stay the
same, and so must the fixture's accounts and customers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank_common import errors, status
from bank_common.validation import MAX_AMOUNT, MAX_BALANCE
from db_service import pagination
from tests.support.bank import (
    Bank,
    close_account,
    czk,
    latest_sequence,
    ledger_accounts,
    new_request_id,
    reason_of,
    rpc_error,
)

pytestmark = pytest.mark.e2e

SOURCE_FOLDERS = ("bank_common", "db_service", "account_service", "transaction_service")
# Reasons this table does not produce, and where they are tested instead.
TESTED_ELSEWHERE = {
    "BALANCE_OUT_OF_RANGE": "test_balance_beyond_limit_is_out_of_range below",
    "INVALID_MAX_VIOLATIONS": "tests/e2e/test_audit.py, RunAudit of the store",
    "LEDGER_STORE_UNAVAILABLE": "tests/e2e/test_idempotency.py, store stopped",
    "MALFORMED_REQUEST": "test_undecodable_request_is_invalid below",
    "UNEXPECTED_FIELD": "test_ledger_store_rejects_fields_of_other_kinds below",
    "SHUTTING_DOWN": "tests/e2e/test_change_feed.py, watch streams of stopped services",
}
# NOTE: a write gets SHUTTING_DOWN only between the ledger store's SIGTERM and
# the end of its writer. No test here can hit that moment on purpose.
NOT_TESTED: set[str] = set()


@dataclass
class World:
    """Customers, accounts and transactions that the failing calls refer to."""

    owner: pb.Customer
    deleted: pb.Customer
    active: pb.Account
    """CZK, overdraft limit 1,000, balance 4,900, two statement lines."""
    other: pb.Account
    """CZK, balance 0 after a reversed deposit."""
    frozen: pb.Account
    closed: pb.Account
    euro: pb.Account
    overdrawn: pb.Account
    """CZK, overdraft limit 1,000, balance -800."""
    bank_cash: pb.Account
    deposit: pb.Transaction
    """The first deposit to ``active``."""
    deposit_request_id: str
    frozen_deposit: pb.Transaction
    reversed: pb.Transaction
    reversal: pb.Transaction
    imported_ref: str


@pytest.fixture(scope="module")
def world(bank: Bank) -> World:
    owner = bank.create_customer("Error Owner", external_ref="errors:owner")
    deleted = bank.create_customer("Error Deleted")
    bank.accounts.DeleteCustomer(
        acc.DeleteCustomerRequest(
            request_id=new_request_id("delete"),
            customer_id=deleted.customer_id,
            expected_version=deleted.version,
        ),
        timeout=10,
    )
    owner_id = owner.customer_id

    active = bank.open_account(owner_id, overdraft=1_000, external_ref="errors:a")
    deposit_request_id = new_request_id("deposit")
    deposit = bank.deposit(active.account_id, 5_000, request_id=deposit_request_id)
    bank.withdraw(active.account_id, 100)

    other = bank.open_account(owner_id)
    to_reverse = bank.deposit(other.account_id, 10).transaction
    reversal = bank.transactions.ReverseTransaction(
        txn.ReverseTransactionRequest(
            request_id=new_request_id("reverse"),
            transaction_id=to_reverse.transaction_id,
        ),
        timeout=10,
    ).transaction
    imported_ref = f"errors:import:{other.account_id}"
    bank.transactions.ImportTransaction(
        txn.ImportTransactionRequest(
            request_id=new_request_id("import"),
            kind=pb.TRANSACTION_KIND_INTEREST,
            account_id=active.account_id,
            amount=czk(1),
            value_date="1995-01-31",
            external_ref=imported_ref,
        ),
        timeout=10,
    )
    bank.withdraw(active.account_id, 1)

    frozen = bank.open_account(owner_id)
    frozen_deposit = bank.deposit(frozen.account_id, 100).transaction
    bank.set_status(bank.ledger_account(frozen.account_id), pb.ACCOUNT_STATUS_FROZEN)

    closed = bank.open_account(owner_id)
    close_account(bank, closed)

    euro = bank.open_account(owner_id, currency="EUR")
    overdrawn = bank.open_account(owner_id, overdraft=1_000)
    bank.withdraw(overdrawn.account_id, 800)

    cash = next(a for a in ledger_accounts(bank) if a.nickname == "bank cash CZK")
    return World(
        owner=owner,
        deleted=bank.ledger.GetCustomer(
            store.GetCustomerRequest(customer_id=deleted.customer_id), timeout=10
        ).customer,
        active=bank.ledger_account(active.account_id),
        other=bank.ledger_account(other.account_id),
        frozen=bank.ledger_account(frozen.account_id),
        closed=bank.ledger_account(closed.account_id),
        euro=bank.ledger_account(euro.account_id),
        overdrawn=bank.ledger_account(overdrawn.account_id),
        bank_cash=cash,
        deposit=deposit.transaction,
        deposit_request_id=deposit_request_id,
        frozen_deposit=frozen_deposit,
        reversed=to_reverse,
        reversal=reversal,
        imported_ref=imported_ref,
    )


def snapshot(bank: Bank, world: World) -> tuple:
    """State that no failed call may change, read from the ledger store."""
    customers = [
        bank.ledger.GetCustomer(
            store.GetCustomerRequest(customer_id=customer.customer_id), timeout=10
        ).customer
        for customer in (world.owner, world.deleted)
    ]
    return (
        latest_sequence(bank),
        ledger_accounts(bank, world.owner.customer_id),
        bank.ledger_account(world.bank_cash.account_id),
        customers,
    )


# Request builders: a valid request with the given fields replaced.


def deposit(w: World, **fields) -> txn.DepositRequest:
    values = {
        "request_id": new_request_id("bad"),
        "account_id": w.active.account_id,
        "amount": czk(100),
    }
    return txn.DepositRequest(**{**values, **fields})


def withdraw(w: World, **fields) -> txn.WithdrawRequest:
    values = {
        "request_id": new_request_id("bad"),
        "account_id": w.active.account_id,
        "amount": czk(100),
    }
    return txn.WithdrawRequest(**{**values, **fields})


def transfer(w: World, **fields) -> txn.TransferRequest:
    values = {
        "request_id": new_request_id("bad"),
        "from_account_id": w.active.account_id,
        "to_account_id": w.other.account_id,
        "amount": czk(100),
    }
    return txn.TransferRequest(**{**values, **fields})


def import_(w: World, **fields) -> txn.ImportTransactionRequest:
    values = {
        "request_id": new_request_id("bad"),
        "kind": pb.TRANSACTION_KIND_DEPOSIT,
        "account_id": w.other.account_id,
        "amount": czk(100),
        "value_date": "1995-01-31",
        "external_ref": new_request_id("ref"),
    }
    return txn.ImportTransactionRequest(**{**values, **fields})


def reverse(transaction_id: int) -> txn.ReverseTransactionRequest:
    return txn.ReverseTransactionRequest(
        request_id=new_request_id("bad"), transaction_id=transaction_id
    )


def statement(w: World, **fields) -> txn.ListStatementRequest:
    return txn.ListStatementRequest(**{"account_id": w.active.account_id, **fields})


def new_customer(**fields) -> acc.CreateCustomerRequest:
    customer = pb.Customer(**{"full_name": "Valid Name", **fields})
    return acc.CreateCustomerRequest(
        request_id=new_request_id("bad"), customer=customer
    )


def update_customer(
    customer: pb.Customer, paths: list[str], version: int | None = None, **fields
) -> acc.UpdateCustomerRequest:
    return acc.UpdateCustomerRequest(
        request_id=new_request_id("bad"),
        customer=pb.Customer(customer_id=customer.customer_id, **fields),
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        expected_version=customer.version if version is None else version,
    )


def delete_customer(customer: pb.Customer, version: int | None = None):
    return acc.DeleteCustomerRequest(
        request_id=new_request_id("bad"),
        customer_id=customer.customer_id,
        expected_version=customer.version if version is None else version,
    )


def owner(customer_id: int) -> pb.AccountHolder:
    return pb.AccountHolder(customer_id=customer_id, role=pb.HOLDER_ROLE_OWNER)


def new_account(w: World, **fields) -> acc.OpenAccountRequest:
    values = {
        "currency_code": "CZK",
        "type": pb.ACCOUNT_TYPE_CHECKING,
        "holders": [owner(w.owner.customer_id)],
    }
    return acc.OpenAccountRequest(
        request_id=new_request_id("bad"), account=pb.Account(**{**values, **fields})
    )


def update_account_request(
    account: pb.Account, paths: list[str], version: int | None = None, **fields
) -> acc.UpdateAccountRequest:
    return acc.UpdateAccountRequest(
        request_id=new_request_id("bad"),
        account=pb.Account(account_id=account.account_id, **fields),
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        expected_version=account.version if version is None else version,
    )


def close(account: pb.Account, version: int | None = None) -> acc.CloseAccountRequest:
    return acc.CloseAccountRequest(
        request_id=new_request_id("bad"),
        account_id=account.account_id,
        expected_version=account.version if version is None else version,
    )


def token_of_other_statement(b: Bank, w: World) -> txn.ListStatementRequest:
    first = b.transactions.ListStatement(statement(w, page_size=1), timeout=10)
    assert first.next_page_token
    return statement(w, account_id=w.other.account_id, page_token=first.next_page_token)


def future_time() -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(time.time()) + 10 * 24 * 3600)


MISSING = 10**12
IA = grpc.StatusCode.INVALID_ARGUMENT
NF = grpc.StatusCode.NOT_FOUND
FP = grpc.StatusCode.FAILED_PRECONDITION
AE = grpc.StatusCode.ALREADY_EXISTS
AB = grpc.StatusCode.ABORTED
OR = grpc.StatusCode.OUT_OF_RANGE

Call = Callable[[Bank, World], object]


@dataclass(frozen=True)
class Case:
    id: str
    call: Call
    code: grpc.StatusCode
    reason: str
    mentions: Callable[[World], str]
    """A value the error message must name."""


def text(value: str) -> Callable[[World], str]:
    return lambda w: value


CASES = [
    # Request ids.
    Case(
        "deposit-missing-request-id",
        lambda b, w: b.transactions.Deposit(deposit(w, request_id=""), timeout=10),
        IA,
        "MISSING_REQUEST_ID",
        text("request_id"),
    ),
    Case(
        "deposit-request-id-with-space",
        lambda b, w: b.transactions.Deposit(
            deposit(w, request_id="has space"), timeout=10
        ),
        IA,
        "INVALID_REQUEST_ID",
        text("'has space'"),
    ),
    Case(
        "open-account-oversize-request-id",
        lambda b, w: b.accounts.OpenAccount(
            acc.OpenAccountRequest(
                request_id="r" * 129, account=new_account(w).account
            ),
            timeout=10,
        ),
        IA,
        "INVALID_REQUEST_ID",
        text("128"),
    ),
    Case(
        "deposit-reused-request-id",
        lambda b, w: b.transactions.Deposit(
            deposit(w, request_id=w.deposit_request_id, amount=czk(5_001)),
            timeout=10,
        ),
        AE,
        "REQUEST_ID_REUSED",
        lambda w: w.deposit_request_id,
    ),
    Case(
        "create-customer-with-deposit-request-id",
        lambda b, w: b.accounts.CreateCustomer(
            acc.CreateCustomerRequest(
                request_id=w.deposit_request_id,
                customer=pb.Customer(full_name="Reuser"),
            ),
            timeout=10,
        ),
        AE,
        "REQUEST_ID_REUSED",
        text("a different request"),
    ),
    # Amounts and currencies.
    Case(
        "deposit-zero-amount",
        lambda b, w: b.transactions.Deposit(deposit(w, amount=czk(0)), timeout=10),
        IA,
        "INVALID_AMOUNT",
        text("amount.minor_units is 0"),
    ),
    Case(
        "withdraw-negative-amount",
        lambda b, w: b.transactions.Withdraw(withdraw(w, amount=czk(-5)), timeout=10),
        IA,
        "INVALID_AMOUNT",
        text("-5"),
    ),
    Case(
        "transfer-overflowing-amount",
        lambda b, w: b.transactions.Transfer(
            transfer(w, amount=czk(2**63 - 1)), timeout=10
        ),
        IA,
        "AMOUNT_TOO_LARGE",
        text(str(2**63 - 1)),
    ),
    Case(
        "deposit-amount-above-max",
        lambda b, w: b.transactions.Deposit(
            deposit(w, amount=czk(MAX_AMOUNT + 1)), timeout=10
        ),
        IA,
        "AMOUNT_TOO_LARGE",
        text(str(MAX_AMOUNT)),
    ),
    Case(
        "deposit-missing-amount",
        lambda b, w: b.transactions.Deposit(
            txn.DepositRequest(
                request_id=new_request_id("bad"), account_id=w.active.account_id
            ),
            timeout=10,
        ),
        IA,
        "MISSING_FIELD",
        text("amount is missing"),
    ),
    Case(
        "transfer-missing-amount",
        lambda b, w: b.transactions.Transfer(
            txn.TransferRequest(
                request_id=new_request_id("bad"),
                from_account_id=w.active.account_id,
                to_account_id=w.other.account_id,
            ),
            timeout=10,
        ),
        IA,
        "MISSING_FIELD",
        text("amount is missing"),
    ),
    Case(
        "deposit-missing-currency",
        lambda b, w: b.transactions.Deposit(
            deposit(w, amount=pb.Money(minor_units=100)), timeout=10
        ),
        IA,
        "MISSING_FIELD",
        text("amount.currency_code"),
    ),
    Case(
        "deposit-lower-case-currency",
        lambda b, w: b.transactions.Deposit(
            deposit(w, amount=pb.Money(currency_code="czk", minor_units=100)),
            timeout=10,
        ),
        IA,
        "INVALID_CURRENCY",
        text("'czk'"),
    ),
    Case(
        "deposit-oversize-currency",
        lambda b, w: b.transactions.Deposit(
            deposit(w, amount=pb.Money(currency_code="C" * 5000, minor_units=1)),
            timeout=10,
        ),
        IA,
        "INVALID_CURRENCY",
        text("CCCC"),
    ),
    Case(
        "open-account-lower-case-currency",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, currency_code="czk"), timeout=10
        ),
        IA,
        "INVALID_CURRENCY",
        text("'czk'"),
    ),
    Case(
        "transfer-unknown-currency",
        lambda b, w: b.transactions.Transfer(
            transfer(w, amount=pb.Money(currency_code="XYZ", minor_units=100)),
            timeout=10,
        ),
        IA,
        "UNKNOWN_CURRENCY",
        text("XYZ"),
    ),
    Case(
        "deposit-to-frozen-account-in-unknown-currency",
        lambda b, w: b.transactions.Deposit(
            deposit(
                w,
                account_id=w.frozen.account_id,
                amount=pb.Money(currency_code="XYZ", minor_units=100),
            ),
            timeout=10,
        ),
        IA,
        "UNKNOWN_CURRENCY",
        text("XYZ"),
    ),
    Case(
        "deposit-euro-into-czk-account",
        lambda b, w: b.transactions.Deposit(
            deposit(w, amount=pb.Money(currency_code="EUR", minor_units=100)),
            timeout=10,
        ),
        FP,
        "CURRENCY_MISMATCH",
        text("EUR"),
    ),
    Case(
        "transfer-czk-to-euro-account",
        lambda b, w: b.transactions.Transfer(
            transfer(w, to_account_id=w.euro.account_id), timeout=10
        ),
        FP,
        "CURRENCY_MISMATCH",
        lambda w: str(w.euro.account_id),
    ),
    # Accounts named by postings.
    Case(
        "transfer-same-account",
        lambda b, w: b.transactions.Transfer(
            transfer(w, to_account_id=w.active.account_id), timeout=10
        ),
        IA,
        "SAME_ACCOUNT",
        lambda w: str(w.active.account_id),
    ),
    Case(
        "deposit-account-id-zero",
        lambda b, w: b.transactions.Deposit(deposit(w, account_id=0), timeout=10),
        IA,
        "INVALID_ID",
        text("account_id is 0"),
    ),
    Case(
        "transfer-negative-destination",
        lambda b, w: b.transactions.Transfer(transfer(w, to_account_id=-4), timeout=10),
        IA,
        "INVALID_ID",
        text("-4"),
    ),
    Case(
        "deposit-missing-account",
        lambda b, w: b.transactions.Deposit(deposit(w, account_id=MISSING), timeout=10),
        NF,
        "ACCOUNT_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "transfer-to-missing-account",
        lambda b, w: b.transactions.Transfer(
            transfer(w, to_account_id=MISSING), timeout=10
        ),
        NF,
        "ACCOUNT_NOT_FOUND",
        text(f"destination account {MISSING}"),
    ),
    Case(
        "deposit-to-bank-account",
        lambda b, w: b.transactions.Deposit(
            deposit(w, account_id=w.bank_cash.account_id), timeout=10
        ),
        FP,
        "INTERNAL_ACCOUNT",
        lambda w: str(w.bank_cash.account_id),
    ),
    Case(
        "deposit-to-frozen-account",
        lambda b, w: b.transactions.Deposit(
            deposit(w, account_id=w.frozen.account_id), timeout=10
        ),
        FP,
        "ACCOUNT_FROZEN",
        lambda w: str(w.frozen.account_id),
    ),
    Case(
        "transfer-to-frozen-account",
        lambda b, w: b.transactions.Transfer(
            transfer(w, to_account_id=w.frozen.account_id), timeout=10
        ),
        FP,
        "ACCOUNT_FROZEN",
        lambda w: f"destination account {w.frozen.account_id}",
    ),
    Case(
        "withdraw-from-closed-account",
        lambda b, w: b.transactions.Withdraw(
            withdraw(w, account_id=w.closed.account_id), timeout=10
        ),
        FP,
        "ACCOUNT_CLOSED",
        lambda w: str(w.closed.account_id),
    ),
    Case(
        "import-to-closed-account",
        lambda b, w: b.transactions.ImportTransaction(
            import_(w, account_id=w.closed.account_id), timeout=10
        ),
        FP,
        "ACCOUNT_CLOSED",
        lambda w: str(w.closed.account_id),
    ),
    Case(
        "withdraw-beyond-overdraft",
        lambda b, w: b.transactions.Withdraw(
            withdraw(w, amount=czk(5_901)), timeout=10
        ),
        FP,
        "INSUFFICIENT_FUNDS",
        text("5900 minor units available"),
    ),
    Case(
        "transfer-beyond-overdraft",
        lambda b, w: b.transactions.Transfer(
            transfer(w, from_account_id=w.overdrawn.account_id, amount=czk(201)),
            timeout=10,
        ),
        FP,
        "INSUFFICIENT_FUNDS",
        text("201"),
    ),
    # Posting text and references.
    Case(
        "deposit-oversize-description",
        lambda b, w: b.transactions.Deposit(
            deposit(w, description="d" * 201), timeout=10
        ),
        IA,
        "FIELD_TOO_LONG",
        text("201 characters"),
    ),
    Case(
        "deposit-description-with-line-break",
        lambda b, w: b.transactions.Deposit(
            deposit(w, description="two\nlines"), timeout=10
        ),
        IA,
        "INVALID_TEXT",
        text("description"),
    ),
    Case(
        "withdraw-oversize-bank-code",
        lambda b, w: b.transactions.Withdraw(
            withdraw(w, counterparty=pb.Counterparty(bank_code="9" * 33)),
            timeout=10,
        ),
        IA,
        "FIELD_TOO_LONG",
        text("counterparty.bank_code"),
    ),
    Case(
        "deposit-empty-counterparty",
        lambda b, w: b.transactions.Deposit(
            deposit(w, counterparty=pb.Counterparty()), timeout=10
        ),
        IA,
        "MISSING_FIELD",
        text("counterparty.bank_code"),
    ),
    Case(
        "withdraw-counterparty-without-account",
        lambda b, w: b.transactions.Withdraw(
            withdraw(w, counterparty=pb.Counterparty(bank_code="0800")), timeout=10
        ),
        IA,
        "MISSING_FIELD",
        text("counterparty.account_number"),
    ),
    Case(
        "import-transfer-kind",
        lambda b, w: b.transactions.ImportTransaction(
            import_(w, kind=pb.TRANSACTION_KIND_TRANSFER), timeout=10
        ),
        IA,
        "INVALID_ENUM",
        text("kind TRANSACTION_KIND_TRANSFER"),
    ),
    Case(
        "import-missing-external-ref",
        lambda b, w: b.transactions.ImportTransaction(
            import_(w, external_ref=""), timeout=10
        ),
        IA,
        "MISSING_FIELD",
        text("external_ref"),
    ),
    Case(
        "import-impossible-value-date",
        lambda b, w: b.transactions.ImportTransaction(
            import_(w, value_date="1995-02-30"), timeout=10
        ),
        IA,
        "INVALID_DATE",
        text("1995-02-30"),
    ),
    Case(
        "import-taken-external-ref",
        lambda b, w: b.transactions.ImportTransaction(
            import_(w, external_ref=w.imported_ref), timeout=10
        ),
        AE,
        "EXTERNAL_REF_TAKEN",
        lambda w: w.imported_ref,
    ),
    # Reversals and transaction reads.
    Case(
        "reverse-id-zero",
        lambda b, w: b.transactions.ReverseTransaction(reverse(0), timeout=10),
        IA,
        "INVALID_ID",
        text("transaction_id is 0"),
    ),
    Case(
        "reverse-missing-transaction",
        lambda b, w: b.transactions.ReverseTransaction(reverse(MISSING), timeout=10),
        NF,
        "TRANSACTION_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "reverse-a-reversal",
        lambda b, w: b.transactions.ReverseTransaction(
            reverse(w.reversal.transaction_id), timeout=10
        ),
        FP,
        "CANNOT_REVERSE_REVERSAL",
        lambda w: str(w.reversal.transaction_id),
    ),
    Case(
        "reverse-twice",
        lambda b, w: b.transactions.ReverseTransaction(
            reverse(w.reversed.transaction_id), timeout=10
        ),
        FP,
        "ALREADY_REVERSED",
        lambda w: str(w.reversed.transaction_id),
    ),
    Case(
        "reverse-deposit-of-frozen-account",
        lambda b, w: b.transactions.ReverseTransaction(
            reverse(w.frozen_deposit.transaction_id), timeout=10
        ),
        FP,
        "ACCOUNT_FROZEN",
        lambda w: str(w.frozen.account_id),
    ),
    Case(
        "get-transaction-negative-id",
        lambda b, w: b.transactions.GetTransaction(
            txn.GetTransactionRequest(transaction_id=-1), timeout=10
        ),
        IA,
        "INVALID_ID",
        text("-1"),
    ),
    Case(
        "get-transaction-with-both-keys",
        lambda b, w: b.transactions.GetTransaction(
            txn.GetTransactionRequest(
                transaction_id=w.deposit.transaction_id, external_ref=w.imported_ref
            ),
            timeout=10,
        ),
        IA,
        "INVALID_KEY",
        text("transaction_id"),
    ),
    Case(
        "get-missing-transaction",
        lambda b, w: b.transactions.GetTransaction(
            txn.GetTransactionRequest(external_ref="errors:none"), timeout=10
        ),
        NF,
        "TRANSACTION_NOT_FOUND",
        text("'errors:none'"),
    ),
    # Statements and pages.
    Case(
        "statement-start-after-end",
        lambda b, w: b.transactions.ListStatement(
            statement(w, start_date="1995-03-01", end_date="1995-02-01"), timeout=10
        ),
        IA,
        "INVALID_DATE_RANGE",
        text("1995-03-01"),
    ),
    Case(
        "statement-malformed-date",
        lambda b, w: b.transactions.ListStatement(
            statement(w, start_date="01/02/1995"), timeout=10
        ),
        IA,
        "INVALID_DATE",
        text("01/02/1995"),
    ),
    Case(
        "statement-page-size-above-max",
        lambda b, w: b.transactions.ListStatement(
            statement(w, page_size=1001), timeout=10
        ),
        IA,
        "INVALID_PAGE_SIZE",
        text("1001"),
    ),
    Case(
        "statement-malformed-page-token",
        lambda b, w: b.transactions.ListStatement(
            statement(w, page_token="not-a-token"), timeout=10
        ),
        IA,
        "INVALID_PAGE_TOKEN",
        text("page_token"),
    ),
    Case(
        "statement-token-of-other-account",
        lambda b, w: b.transactions.ListStatement(
            token_of_other_statement(b, w), timeout=10
        ),
        IA,
        "INVALID_PAGE_TOKEN",
        text("different query"),
    ),
    Case(
        "statement-missing-account",
        lambda b, w: b.transactions.ListStatement(
            statement(w, account_id=MISSING), timeout=10
        ),
        NF,
        "ACCOUNT_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "customers-deeply-nested-page-token",
        lambda b, w: b.accounts.ListCustomers(
            acc.ListCustomersRequest(page_token="W" * 100_000), timeout=10
        ),
        IA,
        "INVALID_PAGE_TOKEN",
        text("page_token"),
    ),
    Case(
        "accounts-page-token-beyond-bigint",
        lambda b, w: b.accounts.ListAccounts(
            acc.ListAccountsRequest(page_token=pagination.encode("accounts:0", 10**50)),
            timeout=10,
        ),
        IA,
        "INVALID_PAGE_TOKEN",
        text("page_token"),
    ),
    Case(
        "customers-negative-page-size",
        lambda b, w: b.accounts.ListCustomers(
            acc.ListCustomersRequest(page_size=-1), timeout=10
        ),
        IA,
        "INVALID_PAGE_SIZE",
        text("-1"),
    ),
    # Customers.
    Case(
        "create-customer-blank-name",
        lambda b, w: b.accounts.CreateCustomer(
            new_customer(full_name="   "), timeout=10
        ),
        IA,
        "MISSING_FIELD",
        text("customer.full_name"),
    ),
    Case(
        "create-customer-oversize-name",
        lambda b, w: b.accounts.CreateCustomer(
            new_customer(full_name="n" * 201), timeout=10
        ),
        IA,
        "FIELD_TOO_LONG",
        text("200"),
    ),
    Case(
        "create-customer-invalid-email",
        lambda b, w: b.accounts.CreateCustomer(
            new_customer(email="no-at-sign"), timeout=10
        ),
        IA,
        "INVALID_EMAIL",
        text("customer.email"),
    ),
    Case(
        "create-customer-invalid-phone",
        lambda b, w: b.accounts.CreateCustomer(
            new_customer(phone="call me"), timeout=10
        ),
        IA,
        "INVALID_PHONE",
        text("customer.phone"),
    ),
    Case(
        "create-customer-unknown-sex",
        lambda b, w: b.accounts.CreateCustomer(new_customer(sex=9), timeout=10),
        IA,
        "INVALID_ENUM",
        text("customer.sex 9"),
    ),
    Case(
        "create-customer-invalid-birth-date",
        lambda b, w: b.accounts.CreateCustomer(
            new_customer(birth_date="1970-13-01"), timeout=10
        ),
        IA,
        "INVALID_DATE",
        text("1970-13-01"),
    ),
    Case(
        "create-customer-taken-external-ref",
        lambda b, w: b.accounts.CreateCustomer(
            new_customer(external_ref="errors:owner"), timeout=10
        ),
        AE,
        "EXTERNAL_REF_TAKEN",
        text("errors:owner"),
    ),
    Case(
        "get-customer-without-key",
        lambda b, w: b.accounts.GetCustomer(acc.GetCustomerRequest(), timeout=10),
        IA,
        "INVALID_KEY",
        text("customer_id is 0 and external_ref is ''"),
    ),
    Case(
        "get-missing-customer",
        lambda b, w: b.accounts.GetCustomer(
            acc.GetCustomerRequest(customer_id=MISSING), timeout=10
        ),
        NF,
        "CUSTOMER_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "update-customer-empty-mask",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(w.owner, [], full_name="X"), timeout=10
        ),
        IA,
        "INVALID_FIELD_MASK",
        text("full_name"),
    ),
    Case(
        "update-customer-status-by-mask",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(w.owner, ["status"]), timeout=10
        ),
        IA,
        "INVALID_FIELD_MASK",
        text("'status'"),
    ),
    Case(
        "update-customer-oversize-mask-path",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(w.owner, ["p" * 20_000]), timeout=10
        ),
        IA,
        "INVALID_FIELD_MASK",
        text("update_mask"),
    ),
    Case(
        "update-customer-without-version",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(w.owner, ["region"], version=0, region="X"), timeout=10
        ),
        IA,
        "MISSING_VERSION",
        text("expected_version is 0"),
    ),
    Case(
        "update-customer-stale-version",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(w.owner, ["region"], version=7, region="X"), timeout=10
        ),
        AB,
        "VERSION_MISMATCH",
        text("not 7"),
    ),
    Case(
        "update-missing-customer",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(
                pb.Customer(customer_id=MISSING, version=1), ["region"], region="X"
            ),
            timeout=10,
        ),
        NF,
        "CUSTOMER_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "update-deleted-customer",
        lambda b, w: b.accounts.UpdateCustomer(
            update_customer(w.deleted, ["region"], region="X"), timeout=10
        ),
        FP,
        "CUSTOMER_DELETED",
        lambda w: str(w.deleted.customer_id),
    ),
    Case(
        "delete-customer-with-open-accounts",
        lambda b, w: b.accounts.DeleteCustomer(delete_customer(w.owner), timeout=10),
        FP,
        "CUSTOMER_HAS_OPEN_ACCOUNTS",
        lambda w: str(w.active.account_id),
    ),
    Case(
        "delete-customer-stale-version",
        lambda b, w: b.accounts.DeleteCustomer(
            delete_customer(w.owner, version=w.owner.version + 1), timeout=10
        ),
        AB,
        "VERSION_MISMATCH",
        lambda w: str(w.owner.customer_id),
    ),
    # Opening accounts.
    Case(
        "open-account-without-holders",
        lambda b, w: b.accounts.OpenAccount(new_account(w, holders=[]), timeout=10),
        IA,
        "MISSING_FIELD",
        text("account.holders"),
    ),
    Case(
        "open-account-with-21-holders",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, holders=[owner(i) for i in range(1, 22)]), timeout=10
        ),
        IA,
        "TOO_MANY_HOLDERS",
        text("21"),
    ),
    Case(
        "open-account-with-duplicate-holder",
        lambda b, w: b.accounts.OpenAccount(
            new_account(
                w, holders=[owner(w.owner.customer_id), owner(w.owner.customer_id)]
            ),
            timeout=10,
        ),
        IA,
        "DUPLICATE_HOLDER",
        text("account.holders"),
    ),
    Case(
        "open-account-without-owner",
        lambda b, w: b.accounts.OpenAccount(
            new_account(
                w,
                holders=[
                    pb.AccountHolder(
                        customer_id=w.owner.customer_id,
                        role=pb.HOLDER_ROLE_AUTHORIZED,
                    )
                ],
            ),
            timeout=10,
        ),
        IA,
        "MISSING_OWNER",
        text("HOLDER_ROLE_OWNER"),
    ),
    Case(
        "open-account-holder-without-role",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, holders=[pb.AccountHolder(customer_id=w.owner.customer_id)]),
            timeout=10,
        ),
        IA,
        "INVALID_ENUM",
        text("account.holders[0].role"),
    ),
    Case(
        "open-account-holder-id-zero",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, holders=[owner(0)]), timeout=10
        ),
        IA,
        "INVALID_ID",
        text("account.holders[0].customer_id"),
    ),
    Case(
        "open-account-internal-type",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, type=pb.ACCOUNT_TYPE_INTERNAL), timeout=10
        ),
        IA,
        "INVALID_ENUM",
        text("account.type is ACCOUNT_TYPE_INTERNAL"),
    ),
    Case(
        "open-account-limit-in-other-currency",
        lambda b, w: b.accounts.OpenAccount(
            new_account(
                w, overdraft_limit=pb.Money(currency_code="EUR", minor_units=10)
            ),
            timeout=10,
        ),
        IA,
        "CURRENCY_MISMATCH",
        text("EUR"),
    ),
    Case(
        "open-account-limit-in-oversize-currency",
        lambda b, w: b.accounts.OpenAccount(
            new_account(
                w, overdraft_limit=pb.Money(currency_code="E" * 20_000, minor_units=1)
            ),
            timeout=10,
        ),
        IA,
        "CURRENCY_MISMATCH",
        text("EEEE"),
    ),
    Case(
        "open-account-negative-limit",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, overdraft_limit=czk(-1)), timeout=10
        ),
        IA,
        "INVALID_AMOUNT",
        text("-1"),
    ),
    Case(
        "open-account-in-the-future",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, open_time=future_time()), timeout=10
        ),
        IA,
        "INVALID_TIME",
        text("account.open_time"),
    ),
    Case(
        "open-account-before-1900",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, open_time=timestamp_pb2.Timestamp(seconds=-2_208_988_801)),
            timeout=10,
        ),
        IA,
        "INVALID_TIME",
        text("-2208988801"),
    ),
    Case(
        "open-account-beyond-timestamp-range",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, open_time=timestamp_pb2.Timestamp(seconds=-(2**62))),
            timeout=10,
        ),
        IA,
        "INVALID_TIME",
        text(str(-(2**62))),
    ),
    Case(
        "open-account-unknown-currency",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, currency_code="ABC"), timeout=10
        ),
        IA,
        "UNKNOWN_CURRENCY",
        text("ABC"),
    ),
    Case(
        "open-account-oversize-nickname",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, nickname="n" * 101), timeout=10
        ),
        IA,
        "FIELD_TOO_LONG",
        text("account.nickname"),
    ),
    Case(
        "open-account-for-missing-customer",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, holders=[owner(MISSING)]), timeout=10
        ),
        NF,
        "CUSTOMER_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "open-account-for-deleted-customer",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, holders=[owner(w.deleted.customer_id)]), timeout=10
        ),
        FP,
        "CUSTOMER_DELETED",
        lambda w: str(w.deleted.customer_id),
    ),
    Case(
        "open-account-taken-external-ref",
        lambda b, w: b.accounts.OpenAccount(
            new_account(w, external_ref="errors:a"), timeout=10
        ),
        AE,
        "EXTERNAL_REF_TAKEN",
        text("errors:a"),
    ),
    # Changing and closing accounts.
    Case(
        "update-account-status-to-closed",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(
                w.other, ["status"], status=pb.ACCOUNT_STATUS_CLOSED
            ),
            timeout=10,
        ),
        IA,
        "INVALID_STATUS",
        text("CloseAccount"),
    ),
    Case(
        "update-account-unknown-status",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(w.other, ["status"], status=42), timeout=10
        ),
        IA,
        "INVALID_STATUS",
        text("account.status"),
    ),
    Case(
        "update-account-limit-above-max",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(
                w.other, ["overdraft_limit"], overdraft_limit=czk(MAX_AMOUNT + 1)
            ),
            timeout=10,
        ),
        IA,
        "INVALID_AMOUNT",
        text(str(MAX_AMOUNT + 1)),
    ),
    Case(
        "update-account-limit-below-overdraft",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(
                w.overdrawn, ["overdraft_limit"], overdraft_limit=czk(799)
            ),
            timeout=10,
        ),
        FP,
        "OVERDRAFT_IN_USE",
        text("cannot be 799: set at least 800"),
    ),
    Case(
        "update-bank-account",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(w.bank_cash, ["nickname"], nickname="mine"),
            timeout=10,
        ),
        FP,
        "INTERNAL_ACCOUNT",
        lambda w: str(w.bank_cash.account_id),
    ),
    Case(
        "update-closed-account",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(w.closed, ["nickname"], nickname="again"),
            timeout=10,
        ),
        FP,
        "ACCOUNT_CLOSED",
        lambda w: str(w.closed.account_id),
    ),
    Case(
        "update-account-stale-version",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(
                w.frozen,
                ["status"],
                version=w.frozen.version - 1,
                status=pb.ACCOUNT_STATUS_ACTIVE,
            ),
            timeout=10,
        ),
        AB,
        "VERSION_MISMATCH",
        lambda w: f"version {w.frozen.version}",
    ),
    Case(
        "update-account-without-version",
        lambda b, w: b.accounts.UpdateAccount(
            update_account_request(w.other, ["nickname"], version=-3, nickname="x"),
            timeout=10,
        ),
        IA,
        "MISSING_VERSION",
        text("-3"),
    ),
    Case(
        "close-account-with-balance",
        lambda b, w: b.accounts.CloseAccount(close(w.active), timeout=10),
        FP,
        "NONZERO_BALANCE",
        text("4900"),
    ),
    Case(
        "close-closed-account",
        lambda b, w: b.accounts.CloseAccount(close(w.closed), timeout=10),
        FP,
        "ACCOUNT_CLOSED",
        lambda w: str(w.closed.account_id),
    ),
    Case(
        "close-account-stale-version",
        lambda b, w: b.accounts.CloseAccount(
            close(w.other, version=w.other.version + 1), timeout=10
        ),
        AB,
        "VERSION_MISMATCH",
        lambda w: str(w.other.account_id),
    ),
    Case(
        "close-missing-account",
        lambda b, w: b.accounts.CloseAccount(
            close(pb.Account(account_id=MISSING, version=1)), timeout=10
        ),
        NF,
        "ACCOUNT_NOT_FOUND",
        text(str(MISSING)),
    ),
    # Account reads and streams.
    Case(
        "get-account-with-both-keys",
        lambda b, w: b.accounts.GetAccount(
            acc.GetAccountRequest(account_id=w.active.account_id, external_ref="x"),
            timeout=10,
        ),
        IA,
        "INVALID_KEY",
        text("account_id"),
    ),
    Case(
        "get-account-oversize-external-ref",
        lambda b, w: b.accounts.GetAccount(
            acc.GetAccountRequest(external_ref="r" * 129), timeout=10
        ),
        IA,
        "FIELD_TOO_LONG",
        text("external_ref"),
    ),
    Case(
        "get-missing-account",
        lambda b, w: b.accounts.GetAccount(
            acc.GetAccountRequest(account_id=MISSING), timeout=10
        ),
        NF,
        "ACCOUNT_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "list-accounts-negative-customer",
        lambda b, w: b.accounts.ListAccounts(
            acc.ListAccountsRequest(customer_id=-2), timeout=10
        ),
        IA,
        "INVALID_ID",
        text("-2"),
    ),
    Case(
        "list-accounts-missing-customer",
        lambda b, w: b.accounts.ListAccounts(
            acc.ListAccountsRequest(customer_id=MISSING), timeout=10
        ),
        NF,
        "CUSTOMER_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "watch-account-id-zero",
        lambda b, w: list(
            b.accounts.WatchAccount(acc.WatchAccountRequest(account_id=0), timeout=10)
        ),
        IA,
        "INVALID_ID",
        text("account_id is 0"),
    ),
    Case(
        "watch-transactions-missing-account",
        lambda b, w: list(
            b.transactions.WatchTransactions(
                txn.WatchTransactionsRequest(account_id=MISSING), timeout=10
            )
        ),
        NF,
        "ACCOUNT_NOT_FOUND",
        text(str(MISSING)),
    ),
    Case(
        "watch-transactions-after-future-sequence",
        lambda b, w: list(
            b.transactions.WatchTransactions(
                txn.WatchTransactionsRequest(
                    account_id=w.active.account_id, after_sequence=10**9
                ),
                timeout=10,
            )
        ),
        OR,
        "SEQUENCE_OUT_OF_RANGE",
        text(str(10**9)),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_error_reason_and_no_change(bank, world, case):
    before = snapshot(bank, world)

    error = rpc_error(lambda: case.call(bank, world))

    assert error.code() == case.code, error.details()
    assert reason_of(error) == case.reason, error.details()
    assert case.mentions(world) in error.details()
    assert ": " in error.details(), "the message should end with what to do"
    assert snapshot(bank, world) == before


def produced_reasons() -> set[str]:
    """Reasons the services' code can raise: leaf error classes and literals."""
    found = set()
    pending = [errors.LedgerError]
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        category = errors.LedgerError in cls.__bases__
        if not subclasses and not category:
            found.add(cls.reason)
        pending.extend(subclasses)
    root = Path(__file__).resolve().parents[2]
    for folder in SOURCE_FOLDERS:
        for path in (root / folder).rglob("*.py"):
            found.update(re.findall(r'reason="([A-Z_]+)"', path.read_text()))
    return found


def test_table_covers_every_reason():
    covered = {case.reason for case in CASES} | set(TESTED_ELSEWHERE) | NOT_TESTED

    missing = produced_reasons() - covered

    assert not missing, f"add a row to CASES for {sorted(missing)}"


def test_ledger_store_rejects_fields_of_other_kinds(bank, world):
    before = snapshot(bank, world)
    requests = [
        store.PostTransactionRequest(
            request_id=new_request_id("bad"),
            kind=pb.TRANSACTION_KIND_TRANSFER,
            account_id=world.active.account_id,
            counter_account_id=world.other.account_id,
            amount=czk(1),
            counterparty=pb.Counterparty(bank_code="0800"),
        ),
        store.PostTransactionRequest(
            request_id=new_request_id("bad"),
            kind=pb.TRANSACTION_KIND_DEPOSIT,
            account_id=world.active.account_id,
            counter_account_id=world.other.account_id,
            amount=czk(1),
        ),
    ]

    for request in requests:
        error = rpc_error(lambda r=request: bank.ledger.PostTransaction(r, timeout=10))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert reason_of(error) == "UNEXPECTED_FIELD"

    assert snapshot(bank, world) == before


def test_balance_beyond_limit_is_out_of_range(bank):
    """Fill one account to MAX_BALANCE with deposits of MAX_AMOUNT, then one more.

    The account is in SEK, which no other test here uses, because the bank's
    own SEK cash account ends at minus MAX_BALANCE. The deposits that fill it
    go straight to the ledger store, which saves a hop per deposit.
    """
    account = bank.open_account(currency="SEK")
    count = MAX_BALANCE // MAX_AMOUNT

    def fill(_: int) -> None:
        request = store.PostTransactionRequest(
            request_id=new_request_id("fill"),
            kind=pb.TRANSACTION_KIND_DEPOSIT,
            account_id=account.account_id,
            amount=pb.Money(currency_code="SEK", minor_units=MAX_AMOUNT),
        )
        bank.ledger.PostTransaction(request, timeout=30)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(fill, range(count)))
    before = bank.ledger_account(account.account_id)
    sequence = latest_sequence(bank)

    error = rpc_error(lambda: bank.deposit(account.account_id, 1, currency="SEK"))

    assert before.balance.minor_units == MAX_BALANCE
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert reason_of(error) == "BALANCE_OUT_OF_RANGE"
    assert str(MAX_BALANCE) in error.details()
    assert bank.ledger_account(account.account_id) == before
    assert latest_sequence(bank) == sequence


def test_transfer_errors_use_public_field_names(bank, world):
    cases = [
        (dict(from_account_id=world.active.account_id), "to_account_id"),
        (dict(to_account_id=world.active.account_id), "from_account_id"),
        (
            dict(
                from_account_id=world.active.account_id,
                to_account_id=world.active.account_id,
            ),
            "from_account_id and to_account_id",
        ),
    ]
    for ids, named in cases:
        with pytest.raises(grpc.RpcError) as failure:
            bank.transactions.Transfer(
                txn.TransferRequest(
                    request_id=new_request_id("transfer"), amount=czk(1), **ids
                ),
                timeout=10,
            )
        assert failure.value.code() == IA
        assert named in failure.value.details()
        assert "counter_account_id" not in failure.value.details()


# Bodies that no protobuf parser accepts: a field with wire type 7 (which
# does not exist) and a length-delimited field longer than the body.
UNDECODABLE = (b"\xff\xff\xff\xff", b"\x0a\x05ab")


@pytest.mark.parametrize(
    ("service", "method"),
    [
        ("ledger", "/bank.ledger.v1.LedgerStoreService/PostTransaction"),
        ("ledger", "/bank.ledger.v1.LedgerStoreService/WatchChanges"),
        ("accounts", "/bank.accounts.v1.AccountService/CreateCustomer"),
        ("accounts", "/bank.accounts.v1.AccountService/WatchAccount"),
        ("transactions", "/bank.transactions.v1.TransactionService/Deposit"),
        ("transactions", "/bank.transactions.v1.TransactionService/WatchTransactions"),
    ],
)
def test_undecodable_request_is_invalid(bank, world, stack, service, method):
    before = snapshot(bank, world)
    streaming = method.rsplit("/", 1)[1].startswith("Watch")
    with grpc.insecure_channel(stack.ports.address(service)) as channel:
        make = channel.unary_stream if streaming else channel.unary_unary
        call = make(method, request_serializer=None, response_deserializer=None)
        for body in UNDECODABLE:
            with pytest.raises(grpc.RpcError) as failure:
                response = call(body, timeout=10)
                if streaming:
                    list(response)

            assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert reason_of(failure.value) == "MALFORMED_REQUEST"
            assert "Request" in failure.value.details()
    assert snapshot(bank, world) == before


def test_missing_external_ref_named_in_metadata(bank, world):
    calls = [
        lambda: bank.accounts.GetCustomer(
            acc.GetCustomerRequest(external_ref="errors:none"), timeout=10
        ),
        lambda: bank.accounts.GetAccount(
            acc.GetAccountRequest(external_ref="errors:none"), timeout=10
        ),
        lambda: bank.transactions.GetTransaction(
            txn.GetTransactionRequest(external_ref="errors:none"), timeout=10
        ),
    ]
    for call in calls:
        error = errors_of(rpc_error(call))

        assert error.metadata == {"external_ref": "errors:none"}


def errors_of(error: grpc.RpcError) -> errors.LedgerError:
    """Return the ledger error that a failed call carries in its status."""
    found = status.error_from_rpc_error(error)
    assert found is not None, f"no ErrorInfo in {error}"
    return found
