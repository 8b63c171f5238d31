"""A client of the two public APIs, as an outside caller would write it.

It uses only the generated stubs of bank.accounts.v1 and
bank.transactions.v1 and the standard google.rpc error details, never the
ledger store or the services' own modules, so the contract tests see
exactly what a client sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from bank.accounts.v1 import account_service_pb2 as acc
from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc

TIMEOUT = 10.0
"""Deadline of every unary call, in seconds."""


def request_id(prefix: str = "contract") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def money(minor_units: int, currency: str = "CZK") -> pb.Money:
    return pb.Money(currency_code=currency, minor_units=minor_units)


@dataclass(frozen=True)
class Failure:
    """A failed call as the client sees it: status code and ErrorInfo."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def failure_of(error: grpc.RpcError) -> Failure:
    """Read the status code and the google.rpc.ErrorInfo detail of an error."""
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    if status is not None:
        for detail in status.details:
            if detail.Unpack(info):
                break
    return Failure(
        code=error.code(),
        message=error.details() or "",
        reason=info.reason,
        domain=info.domain,
        metadata=dict(info.metadata),
    )


def fails(call: Callable, request, **kwargs) -> Failure:
    """Make a unary call that must fail and return how it failed."""
    try:
        response = call(request, timeout=TIMEOUT, **kwargs)
    except grpc.RpcError as error:
        return failure_of(error)
    raise AssertionError(f"expected the call to fail, got {response}")


@dataclass
class Api:
    """Stubs of the account and transaction services with shorthand helpers."""

    accounts: acc_grpc.AccountServiceStub
    transactions: txn_grpc.TransactionServiceStub

    # Customers and accounts.

    def create_customer(self, full_name: str = "Contract Customer", **fields):
        request = acc.CreateCustomerRequest(
            request_id=request_id("customer"),
            customer=pb.Customer(full_name=full_name, **fields),
        )
        return self.accounts.CreateCustomer(request, timeout=TIMEOUT)

    def customer(self, full_name: str = "Contract Customer", **fields) -> pb.Customer:
        return self.create_customer(full_name, **fields).customer

    def open_account(
        self,
        customer_id: int | None = None,
        *,
        currency: str = "CZK",
        overdraft: int = 0,
        **fields,
    ) -> acc.OpenAccountResponse:
        if "holders" not in fields:
            if customer_id is None:
                customer_id = self.customer().customer_id
            fields["holders"] = [
                pb.AccountHolder(customer_id=customer_id, role=pb.HOLDER_ROLE_OWNER)
            ]
        fields.setdefault("type", pb.ACCOUNT_TYPE_CHECKING)
        account = pb.Account(
            currency_code=currency,
            overdraft_limit=money(overdraft, currency),
            **fields,
        )
        request = acc.OpenAccountRequest(request_id=request_id("open"), account=account)
        return self.accounts.OpenAccount(request, timeout=TIMEOUT)

    def account(self, customer_id: int | None = None, **fields) -> pb.Account:
        return self.open_account(customer_id, **fields).account

    def internal_account(self) -> pb.Account:
        """Return one of the bank's own accounts, which ListAccounts also lists."""
        token = ""
        while True:
            page = self.accounts.ListAccounts(
                acc.ListAccountsRequest(page_size=100, page_token=token),
                timeout=TIMEOUT,
            )
            for account in page.accounts:
                if account.type == pb.ACCOUNT_TYPE_INTERNAL:
                    return account
            token = page.next_page_token
            if not token:
                raise AssertionError("ListAccounts lists none of the bank's accounts")

    def get_account(self, account_id: int, min_sequence: int = 0) -> pb.Account:
        request = acc.GetAccountRequest(
            account_id=account_id, min_sequence=min_sequence
        )
        return self.accounts.GetAccount(request, timeout=TIMEOUT).account

    def update_account(
        self, account: pb.Account, paths: list[str], **changes
    ) -> acc.UpdateAccountResponse:
        request = acc.UpdateAccountRequest(
            request_id=request_id("update"),
            account=pb.Account(account_id=account.account_id, **changes),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
            expected_version=account.version,
        )
        return self.accounts.UpdateAccount(request, timeout=TIMEOUT)

    def set_status(self, account: pb.Account, status: int) -> acc.UpdateAccountResponse:
        return self.update_account(account, ["status"], status=status)

    def close_account(self, account: pb.Account) -> acc.CloseAccountResponse:
        request = acc.CloseAccountRequest(
            request_id=request_id("close"),
            account_id=account.account_id,
            expected_version=account.version,
        )
        return self.accounts.CloseAccount(request, timeout=TIMEOUT)

    # Postings.

    def deposit_request(
        self, account_id: int, minor_units: int, currency: str = "CZK", **fields
    ) -> txn.DepositRequest:
        fields.setdefault("request_id", request_id("deposit"))
        return txn.DepositRequest(
            account_id=account_id, amount=money(minor_units, currency), **fields
        )

    def deposit(self, account_id: int, minor_units: int, **fields):
        request = self.deposit_request(account_id, minor_units, **fields)
        return self.transactions.Deposit(request, timeout=TIMEOUT)

    def withdraw_request(
        self, account_id: int, minor_units: int, currency: str = "CZK", **fields
    ) -> txn.WithdrawRequest:
        fields.setdefault("request_id", request_id("withdraw"))
        return txn.WithdrawRequest(
            account_id=account_id, amount=money(minor_units, currency), **fields
        )

    def withdraw(self, account_id: int, minor_units: int, **fields):
        request = self.withdraw_request(account_id, minor_units, **fields)
        return self.transactions.Withdraw(request, timeout=TIMEOUT)

    def transfer_request(
        self, source: int, destination: int, minor_units: int, currency="CZK", **fields
    ) -> txn.TransferRequest:
        fields.setdefault("request_id", request_id("transfer"))
        return txn.TransferRequest(
            from_account_id=source,
            to_account_id=destination,
            amount=money(minor_units, currency),
            **fields,
        )

    def transfer(self, source: int, destination: int, minor_units: int, **fields):
        request = self.transfer_request(source, destination, minor_units, **fields)
        return self.transactions.Transfer(request, timeout=TIMEOUT)

    def import_request(
        self, account_id: int, kind: int, minor_units: int, value_date: str, **fields
    ) -> txn.ImportTransactionRequest:
        fields.setdefault("request_id", request_id("import"))
        fields.setdefault("external_ref", request_id("source-ref"))
        return txn.ImportTransactionRequest(
            kind=kind,
            account_id=account_id,
            amount=money(minor_units),
            value_date=value_date,
            **fields,
        )

    # Reads.

    def statement(
        self, account_id: int, page_size: int = 0, **fields
    ) -> tuple[list[pb.StatementLine], int]:
        """Read a whole statement page by page; return its lines and page count."""
        lines: list[pb.StatementLine] = []
        token = ""
        pages = 0
        while True:
            page = self.transactions.ListStatement(
                txn.ListStatementRequest(
                    account_id=account_id,
                    page_size=page_size,
                    page_token=token,
                    **fields,
                ),
                timeout=TIMEOUT,
            )
            pages += 1
            lines.extend(page.lines)
            token = page.next_page_token
            if not token:
                return lines, pages
