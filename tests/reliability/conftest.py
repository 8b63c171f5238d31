"""Fixtures of the bad-input tests: a stack per module with known entities."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank_common.stack import LocalStack
from bank_common.validation import MAX_AMOUNT, MAX_BALANCE
from tests.reliability.hostile import TALLY, Known


@dataclass
class HostileStack:
    stack: LocalStack
    channels: dict[str, grpc.Channel]
    known: Known

    def restore_full_account(self) -> None:
        """Bring the full account back to ACTIVE and to the balance limit.

        Generated requests draw random ids, which now and then name this
        account, or one of the deposits that filled it, and change it.
        """
        ledger = store_grpc.LedgerStoreServiceStub(self.channels["ledger"])
        account_id = self.known.full_account_id
        account = ledger.GetAccount(
            store.GetAccountRequest(account_id=account_id), timeout=10
        ).account
        if account.status == pb.ACCOUNT_STATUS_FROZEN:
            _set_status(ledger, account, pb.ACCOUNT_STATUS_ACTIVE, self.known)
        balance = account.balance.minor_units
        while balance < MAX_BALANCE:
            amount = min(MAX_AMOUNT, MAX_BALANCE - balance)
            try:
                _deposit_gbp(ledger, account_id, amount).result()
            except grpc.RpcError as error:
                # The bank's GBP cash account is at its own limit, which
                # also rejects any further GBP deposit.
                if error.code() != grpc.StatusCode.OUT_OF_RANGE:
                    raise
                return
            balance += amount


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileStack]:
    folder = tmp_path_factory.mktemp("hostile")
    # Reads with a min_sequence far ahead wait this long for the view.
    quick_reads = ["--read-wait", "0.2"]
    stack = LocalStack(
        db_path=folder / "ledger.duckdb",
        log_dir=folder / "logs",
        extra_args={"accounts": quick_reads, "transactions": quick_reads},
    )
    channels: dict[str, grpc.Channel] = {}
    try:
        stack.start_all()
        channels = {
            name: grpc.insecure_channel(stack.ports.address(name))
            for name in ("ledger", "accounts", "transactions")
        }
        known = _create_known(store_grpc.LedgerStoreServiceStub(channels["ledger"]))
        yield HostileStack(stack, channels, known)
    finally:
        for channel in channels.values():
            channel.close()
        stack.stop_all()


def _request_id() -> str:
    return f"setup-{uuid.uuid4().hex}"


def _create_known(ledger: store_grpc.LedgerStoreServiceStub) -> Known:
    """Create customers, accounts in several states and some transactions."""
    known = Known()
    for name in ("Alice Known", "Bob Known"):
        customer = ledger.CreateCustomer(
            store.CreateCustomerRequest(
                request_id=_request_id(), customer=pb.Customer(full_name=name)
            ),
            timeout=10,
        ).customer
        known.customer_ids.append(customer.customer_id)
    owner = known.customer_ids[0]

    def open_account(currency: str, overdraft: int = 0) -> pb.Account:
        request = store.OpenAccountRequest(
            request_id=_request_id(),
            account=pb.Account(
                currency_code=currency,
                type=pb.ACCOUNT_TYPE_CHECKING,
                overdraft_limit=pb.Money(currency_code=currency, minor_units=overdraft),
                holders=[
                    pb.AccountHolder(customer_id=owner, role=pb.HOLDER_ROLE_OWNER)
                ],
            ),
        )
        account = ledger.OpenAccount(request, timeout=10).account
        known.account_ids.append(account.account_id)
        known.versions[account.account_id] = account.version
        return account

    def post(kind: int, account: pb.Account, amount: int, **fields) -> pb.Transaction:
        request = store.PostTransactionRequest(
            request_id=fields.pop("request_id", _request_id()),
            kind=kind,
            account_id=account.account_id,
            amount=pb.Money(currency_code=account.currency_code, minor_units=amount),
            **fields,
        )
        transaction = ledger.PostTransaction(request, timeout=10).transaction
        known.transaction_ids.append(transaction.transaction_id)
        return transaction

    funded = open_account("CZK", overdraft=10_000)
    empty = open_account("CZK")
    euro = open_account("EUR")
    frozen = open_account("CZK")
    closed = open_account("CZK")
    post(pb.TRANSACTION_KIND_DEPOSIT, funded, 1_000_000, request_id="reused-request-id")
    post(pb.TRANSACTION_KIND_DEPOSIT, euro, 50_000)
    post(
        pb.TRANSACTION_KIND_TRANSFER,
        funded,
        25_000,
        counter_account_id=empty.account_id,
    )
    _set_status(ledger, frozen, pb.ACCOUNT_STATUS_FROZEN, known)
    closed = ledger.CloseAccount(
        store.CloseAccountRequest(
            request_id=_request_id(),
            account_id=closed.account_id,
            expected_version=closed.version,
        ),
        timeout=10,
    ).account
    known.versions[closed.account_id] = closed.version
    full = open_account("GBP")
    # Kept out of the ids the strategies draw from, so that its balance
    # stays at the limit whatever the generated requests do.
    known.account_ids.remove(full.account_id)
    known.full_account_id = full.account_id
    _fill_to_max_balance(ledger, full)
    return known


def _set_status(ledger, account: pb.Account, status: int, known: Known) -> None:
    response = ledger.UpdateAccount(
        store.UpdateAccountRequest(
            request_id=_request_id(),
            account=pb.Account(account_id=account.account_id, status=status),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
            expected_version=account.version,
        ),
        timeout=10,
    )
    known.versions[account.account_id] = response.account.version


def _fill_to_max_balance(ledger, account: pb.Account) -> None:
    """Deposit until the balance is at the ledger's limit of 10**18 minor units.

    Any further credit to it, and any further GBP deposit at all (the bank's
    GBP cash account is at -10**18), must fail with OUT_OF_RANGE.
    """
    calls = [_deposit_gbp(ledger, account.account_id, MAX_AMOUNT) for _ in range(1000)]
    for call in calls:
        call.result()


def _deposit_gbp(ledger, account_id: int, minor_units: int) -> grpc.Future:
    return ledger.PostTransaction.future(
        store.PostTransactionRequest(
            request_id=_request_id(),
            kind=pb.TRANSACTION_KIND_DEPOSIT,
            account_id=account_id,
            amount=pb.Money(currency_code="GBP", minor_units=minor_units),
        ),
        timeout=60,
    )


def pytest_terminal_summary(terminalreporter) -> None:
    if not TALLY:
        return
    terminalreporter.write_sep("-", "bad input: requests sent, by service and answer")
    services = sorted({service for service, _ in TALLY})
    for service in services:
        answers = {code: n for (name, code), n in TALLY.items() if name == service}
        total = sum(answers.values())
        shown = ", ".join(f"{code} {n}" for code, n in sorted(answers.items()))
        terminalreporter.write_line(f"{service}: {total} requests ({shown})")
