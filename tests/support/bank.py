"""A small client of the public APIs for tests: stubs plus shorthand helpers.

Every helper sends a fresh request_id unless one is given, and returns the
response message, so a test reads as the operations it performs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from bank_common import status
from bank_common.stack import LocalStack


def new_request_id(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def czk(minor_units: int) -> pb.Money:
    return pb.Money(currency_code="CZK", minor_units=minor_units)


def reason_of(error: grpc.RpcError) -> str:
    """Return the ErrorInfo reason of a failed call, or "" when it has none."""
    domain_error = status.error_from_rpc_error(error)
    return domain_error.reason if domain_error is not None else ""


@dataclass
class Bank:
    """Blocking stubs of the three services, with shorthand helpers."""

    accounts: acc_grpc.AccountServiceStub
    transactions: txn_grpc.TransactionServiceStub
    ledger: store_grpc.LedgerStoreServiceStub
    channels: tuple[grpc.Channel, ...]
    addresses: dict[str, str]
    """host:port of "accounts", "transactions" and "ledger"."""

    @classmethod
    def for_stack(cls, stack: LocalStack) -> Bank:
        """Connect to the three services of a local stack."""
        return cls.connect(
            stack.ports.address("accounts"),
            stack.ports.address("transactions"),
            stack.ports.address("ledger"),
        )

    @classmethod
    def connect(
        cls, accounts_addr: str, transactions_addr: str, ledger_addr: str
    ) -> Bank:
        channels = tuple(
            grpc.insecure_channel(address)
            for address in (accounts_addr, transactions_addr, ledger_addr)
        )
        return cls(
            accounts=acc_grpc.AccountServiceStub(channels[0]),
            transactions=txn_grpc.TransactionServiceStub(channels[1]),
            ledger=store_grpc.LedgerStoreServiceStub(channels[2]),
            channels=channels,
            addresses={
                "accounts": accounts_addr,
                "transactions": transactions_addr,
                "ledger": ledger_addr,
            },
        )

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def create_customer(
        self, full_name: str = "Test Customer", **fields
    ) -> pb.Customer:
        request = acc.CreateCustomerRequest(
            request_id=new_request_id("customer"),
            customer=pb.Customer(full_name=full_name, **fields),
        )
        return self.accounts.CreateCustomer(request, timeout=10).customer

    def open_account(
        self,
        customer_id: int | None = None,
        *,
        currency: str = "CZK",
        overdraft: int = 0,
        holders: list[pb.AccountHolder] | None = None,
        **fields,
    ) -> pb.Account:
        if holders is None:
            if customer_id is None:
                customer_id = self.create_customer().customer_id
            holders = [
                pb.AccountHolder(customer_id=customer_id, role=pb.HOLDER_ROLE_OWNER)
            ]
        account = pb.Account(
            currency_code=currency,
            type=fields.pop("type", pb.ACCOUNT_TYPE_CHECKING),
            holders=holders,
            overdraft_limit=pb.Money(currency_code=currency, minor_units=overdraft),
            **fields,
        )
        request = acc.OpenAccountRequest(
            request_id=new_request_id("open"), account=account
        )
        return self.accounts.OpenAccount(request, timeout=10).account

    def deposit(
        self,
        account_id: int,
        minor_units: int,
        *,
        currency: str = "CZK",
        request_id: str | None = None,
        **fields,
    ) -> txn.DepositResponse:
        return self.transactions.Deposit(
            txn.DepositRequest(
                request_id=request_id or new_request_id("deposit"),
                account_id=account_id,
                amount=pb.Money(currency_code=currency, minor_units=minor_units),
                **fields,
            ),
            timeout=10,
        )

    def withdraw(
        self,
        account_id: int,
        minor_units: int,
        *,
        currency: str = "CZK",
        request_id: str | None = None,
        **fields,
    ) -> txn.WithdrawResponse:
        return self.transactions.Withdraw(
            txn.WithdrawRequest(
                request_id=request_id or new_request_id("withdraw"),
                account_id=account_id,
                amount=pb.Money(currency_code=currency, minor_units=minor_units),
                **fields,
            ),
            timeout=10,
        )

    def transfer(
        self,
        source: int,
        destination: int,
        minor_units: int,
        *,
        currency: str = "CZK",
        request_id: str | None = None,
        **fields,
    ) -> txn.TransferResponse:
        return self.transactions.Transfer(
            txn.TransferRequest(
                request_id=request_id or new_request_id("transfer"),
                from_account_id=source,
                to_account_id=destination,
                amount=pb.Money(currency_code=currency, minor_units=minor_units),
                **fields,
            ),
            timeout=10,
        )

    def get_account(self, account_id: int, min_sequence: int = 0) -> pb.Account:
        request = acc.GetAccountRequest(
            account_id=account_id, min_sequence=min_sequence
        )
        return self.accounts.GetAccount(request, timeout=10).account

    def ledger_account(self, account_id: int) -> pb.Account:
        """Read the account straight from the ledger store."""
        request = store.GetAccountRequest(account_id=account_id)
        return self.ledger.GetAccount(request, timeout=10).account

    def set_status(
        self, account: pb.Account, status_value: int
    ) -> acc.UpdateAccountResponse:
        request = acc.UpdateAccountRequest(
            request_id=new_request_id("status"),
            account=pb.Account(account_id=account.account_id, status=status_value),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
            expected_version=account.version,
        )
        return self.accounts.UpdateAccount(request, timeout=10)

    def statement(
        self, account_id: int, page_size: int = 1000
    ) -> list[pb.StatementLine]:
        """Read the whole statement, page by page."""
        lines: list[pb.StatementLine] = []
        token = ""
        while True:
            page = self.transactions.ListStatement(
                txn.ListStatementRequest(
                    account_id=account_id, page_size=page_size, page_token=token
                ),
                timeout=10,
            )
            lines.extend(page.lines)
            token = page.next_page_token
            if not token:
                return lines


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    """Run ``call``, which is expected to fail, and return its RpcError."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded but was expected to fail")


def update_account(
    bank: Bank, account: pb.Account, paths: list[str], **fields
) -> acc.UpdateAccountResponse:
    """Change the fields named in ``paths`` to the values in ``fields``."""
    request = acc.UpdateAccountRequest(
        request_id=new_request_id("update"),
        account=pb.Account(account_id=account.account_id, **fields),
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        expected_version=account.version,
    )
    return bank.accounts.UpdateAccount(request, timeout=10)


def close_account(bank: Bank, account: pb.Account) -> acc.CloseAccountResponse:
    request = acc.CloseAccountRequest(
        request_id=new_request_id("close"),
        account_id=account.account_id,
        expected_version=account.version,
    )
    return bank.accounts.CloseAccount(request, timeout=10)


def ledger_accounts(bank: Bank, customer_id: int = 0) -> list[pb.Account]:
    """List accounts from the ledger store, all pages. Customer 0 lists every one."""
    accounts: list[pb.Account] = []
    token = ""
    while True:
        page = bank.ledger.ListAccounts(
            store.ListAccountsRequest(
                customer_id=customer_id, page_size=1000, page_token=token
            ),
            timeout=10,
        )
        accounts.extend(page.accounts)
        token = page.next_page_token
        if not token:
            return accounts


def ledger_statement(bank: Bank, account_id: int) -> list[pb.StatementLine]:
    """Read an account's whole statement from the ledger store."""
    lines: list[pb.StatementLine] = []
    token = ""
    while True:
        page = bank.ledger.ListStatement(
            store.ListStatementRequest(
                account_id=account_id, page_size=1000, page_token=token
            ),
            timeout=10,
        )
        lines.extend(page.lines)
        token = page.next_page_token
        if not token:
            return lines


def latest_sequence(bank: Bank) -> int:
    """Return the ledger store's latest committed change-feed sequence."""
    info = bank.ledger.GetLedgerInfo(store.GetLedgerInfoRequest(), timeout=10)
    return info.latest_sequence
