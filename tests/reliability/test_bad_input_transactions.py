"""Hostile values in every RPC of the transaction service.

Each test sends generated requests and checks, through ``Probe``, that the
response is OK or a documented status with an ErrorInfo reason, and that a
rejected posting committed nothing in the ledger store. The last test runs
the audit.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from tests.reliability import hostile as h

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def transactions(hostile):
    return txn_grpc.TransactionServiceStub(hostile.channels["transactions"])


@pytest.fixture(scope="module")
def probe(hostile):
    return h.Probe("transaction service", hostile.channels["ledger"])


def counterparty_or_none(data) -> dict:
    if data.draw(st.booleans()):
        return {"counterparty": data.draw(h.counterparties())}
    return {}


@h.fuzz(scale=1.5)
@given(data=st.data())
def test_deposit_bad_input(hostile, transactions, probe, data):
    request = txn.DepositRequest(
        request_id=data.draw(h.request_ids()),
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        amount=data.draw(h.money()),
        description=data.draw(h.texts()),
        min_sequence=data.draw(h.sequences()),
        **counterparty_or_none(data),
    )
    probe.call(transactions.Deposit, request, write=True)


@h.fuzz(scale=1.5)
@given(data=st.data())
def test_withdraw_bad_input(hostile, transactions, probe, data):
    request = txn.WithdrawRequest(
        request_id=data.draw(h.request_ids()),
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        amount=data.draw(h.money()),
        description=data.draw(h.texts()),
        min_sequence=data.draw(h.sequences()),
        **counterparty_or_none(data),
    )
    probe.call(transactions.Withdraw, request, write=True)


@h.fuzz(scale=2)
@given(data=st.data())
def test_transfer_bad_input(hostile, transactions, probe, data):
    account_ids = hostile.known.account_ids
    source = data.draw(h.ids(account_ids))
    # Same source and destination now and then.
    destination = data.draw(st.one_of(h.ids(account_ids), st.just(source)))
    request = txn.TransferRequest(
        request_id=data.draw(h.request_ids()),
        from_account_id=source,
        to_account_id=destination,
        amount=data.draw(h.money()),
        description=data.draw(h.texts()),
        min_sequence=data.draw(h.sequences()),
    )
    probe.call(transactions.Transfer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_import_transaction_bad_input(hostile, transactions, probe, data):
    request = txn.ImportTransactionRequest(
        request_id=data.draw(h.request_ids()),
        kind=data.draw(h.enums(list(range(1, 8)))),
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        amount=data.draw(h.money()),
        description=data.draw(h.texts()),
        counterparty=data.draw(h.counterparties()),
        value_date=data.draw(h.dates()),
        external_ref=data.draw(h.texts()),
    )
    probe.call(transactions.ImportTransaction, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_reverse_transaction_bad_input(hostile, transactions, probe, data):
    request = txn.ReverseTransactionRequest(
        request_id=data.draw(h.request_ids()),
        transaction_id=data.draw(h.ids(hostile.known.transaction_ids)),
        description=data.draw(h.texts()),
    )
    probe.call(transactions.ReverseTransaction, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_get_transaction_bad_input(hostile, transactions, probe, data):
    request = txn.GetTransactionRequest(
        transaction_id=data.draw(h.ids(hostile.known.transaction_ids)),
        external_ref=data.draw(h.texts()),
        min_sequence=data.draw(h.sequences()),
    )
    probe.call(transactions.GetTransaction, request)


@h.fuzz()
@given(data=st.data())
def test_list_statement_bad_input(hostile, transactions, probe, data):
    account_id = data.draw(h.ids(hostile.known.account_ids))
    start, end = data.draw(h.dates()), data.draw(h.dates())
    queries = [f"statement:{account_id}:{start or None}:{end or None}", "customers"]
    request = txn.ListStatementRequest(
        account_id=account_id,
        page_size=data.draw(h.page_sizes()),
        page_token=data.draw(h.page_tokens(queries)),
        start_date=start,
        end_date=end,
        min_sequence=data.draw(h.sequences()),
    )
    probe.call(transactions.ListStatement, request)


@h.fuzz(scale=0.5)
@given(data=st.data())
def test_watch_transactions_bad_input(hostile, transactions, probe, data):
    request = txn.WatchTransactionsRequest(
        account_id=data.draw(h.ids(hostile.known.account_ids))
    )
    after = data.draw(st.one_of(st.none(), h.sequences()))
    if after is not None:
        request.after_sequence = after
    probe.stream(transactions.WatchTransactions, request, wait=0.5)


def test_get_service_status_answers(transactions, probe):
    response = probe.call(transactions.GetServiceStatus, txn.GetServiceStatusRequest())

    assert response.view_accounts > 0


def test_deposit_beyond_max_balance_is_out_of_range(hostile, transactions, probe):
    hostile.restore_full_account()
    request = txn.DepositRequest(
        request_id="deposit-over-limit",
        account_id=hostile.known.full_account_id,
        amount=pb.Money(currency_code="GBP", minor_units=1),
    )

    response = probe.call(transactions.Deposit, request, write=True)

    assert response is None
    assert probe.last_code == "OUT_OF_RANGE"


def test_audit_clean_after_bad_input(hostile):
    ledger = store_grpc.LedgerStoreServiceStub(hostile.channels["ledger"])

    response = ledger.RunAudit(store.RunAuditRequest(), timeout=60)

    assert [v.message for v in response.violations] == []
