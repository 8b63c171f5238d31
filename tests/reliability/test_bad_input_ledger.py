"""Hostile values in every RPC of the ledger store.

Each test sends generated requests and checks, through ``Probe``, that the
response is OK or a documented status with an ErrorInfo reason, and that a
rejected write committed nothing. The last test runs the audit.
"""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from tests.reliability import hostile as h

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ledger(hostile):
    return store_grpc.LedgerStoreServiceStub(hostile.channels["ledger"])


@pytest.fixture(scope="module")
def probe(hostile):
    return h.Probe("ledger store", hostile.channels["ledger"])


@h.fuzz()
@given(data=st.data())
def test_create_customer_bad_input(hostile, ledger, probe, data):
    request = store.CreateCustomerRequest(
        request_id=data.draw(h.request_ids()),
        customer=data.draw(h.customers(hostile.known)),
    )
    probe.call(ledger.CreateCustomer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_get_customer_bad_input(hostile, ledger, probe, data):
    request = store.GetCustomerRequest(
        customer_id=data.draw(h.ids(hostile.known.customer_ids)),
        external_ref=data.draw(h.texts()),
    )
    probe.call(ledger.GetCustomer, request)


@h.fuzz()
@given(data=st.data())
def test_list_customers_bad_input(ledger, probe, data):
    request = store.ListCustomersRequest(
        page_size=data.draw(h.page_sizes()),
        page_token=data.draw(h.page_tokens(["customers", "accounts:0"])),
    )
    probe.call(ledger.ListCustomers, request)


@h.fuzz()
@given(data=st.data())
def test_update_customer_bad_input(hostile, ledger, probe, data):
    valid = ["full_name", "email", "phone", "region"]
    request = store.UpdateCustomerRequest(
        request_id=data.draw(h.request_ids()),
        customer=data.draw(h.customers(hostile.known)),
        update_mask=field_mask_pb2.FieldMask(paths=data.draw(h.masks(valid))),
        expected_version=data.draw(h.versions()),
    )
    probe.call(ledger.UpdateCustomer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_delete_customer_bad_input(hostile, ledger, probe, data):
    request = store.DeleteCustomerRequest(
        request_id=data.draw(h.request_ids()),
        customer_id=data.draw(h.ids(hostile.known.customer_ids)),
        expected_version=data.draw(h.versions()),
    )
    probe.call(ledger.DeleteCustomer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_open_account_bad_input(hostile, ledger, probe, data):
    request = store.OpenAccountRequest(
        request_id=data.draw(h.request_ids()),
        account=data.draw(h.accounts(hostile.known)),
    )
    probe.call(ledger.OpenAccount, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_get_account_bad_input(hostile, ledger, probe, data):
    request = store.GetAccountRequest(
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        external_ref=data.draw(h.texts()),
    )
    probe.call(ledger.GetAccount, request)


@h.fuzz()
@given(data=st.data())
def test_list_accounts_bad_input(hostile, ledger, probe, data):
    customer_id = data.draw(st.one_of(st.just(0), h.ids(hostile.known.customer_ids)))
    queries = [f"accounts:{customer_id}", "accounts:0", "customers"]
    request = store.ListAccountsRequest(
        customer_id=customer_id,
        page_size=data.draw(h.page_sizes()),
        page_token=data.draw(h.page_tokens(queries)),
    )
    probe.call(ledger.ListAccounts, request)


@h.fuzz()
@given(data=st.data())
def test_update_account_bad_input(hostile, ledger, probe, data):
    valid = ["nickname", "overdraft_limit", "status"]
    request = store.UpdateAccountRequest(
        request_id=data.draw(h.request_ids()),
        account=data.draw(h.accounts(hostile.known)),
        update_mask=field_mask_pb2.FieldMask(paths=data.draw(h.masks(valid))),
        expected_version=data.draw(h.versions()),
    )
    probe.call(ledger.UpdateAccount, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_close_account_bad_input(hostile, ledger, probe, data):
    request = store.CloseAccountRequest(
        request_id=data.draw(h.request_ids()),
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        expected_version=data.draw(h.versions()),
    )
    probe.call(ledger.CloseAccount, request, write=True)


@h.fuzz(scale=2)
@given(data=st.data())
def test_post_transaction_bad_input(hostile, ledger, probe, data):
    account_ids = hostile.known.account_ids
    request = store.PostTransactionRequest(
        request_id=data.draw(h.request_ids()),
        kind=data.draw(h.enums(list(range(1, 8)))),
        account_id=data.draw(h.ids(account_ids)),
        counter_account_id=data.draw(st.one_of(st.just(0), h.ids(account_ids))),
        amount=data.draw(h.money()),
        description=data.draw(h.texts()),
        counterparty=data.draw(h.counterparties()),
        value_date=data.draw(h.dates()),
        external_ref=data.draw(h.texts()),
        imported=data.draw(st.booleans()),
    )
    probe.call(ledger.PostTransaction, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_reverse_transaction_bad_input(hostile, ledger, probe, data):
    request = store.ReverseTransactionRequest(
        request_id=data.draw(h.request_ids()),
        transaction_id=data.draw(h.ids(hostile.known.transaction_ids)),
        description=data.draw(h.texts()),
    )
    probe.call(ledger.ReverseTransaction, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_get_transaction_bad_input(hostile, ledger, probe, data):
    request = store.GetTransactionRequest(
        transaction_id=data.draw(h.ids(hostile.known.transaction_ids)),
        external_ref=data.draw(h.texts()),
    )
    probe.call(ledger.GetTransaction, request)


@h.fuzz()
@given(data=st.data())
def test_list_statement_bad_input(hostile, ledger, probe, data):
    account_id = data.draw(h.ids(hostile.known.account_ids))
    start, end = data.draw(h.dates()), data.draw(h.dates())
    queries = [f"statement:{account_id}:{start or None}:{end or None}", "customers"]
    request = store.ListStatementRequest(
        account_id=account_id,
        page_size=data.draw(h.page_sizes()),
        page_token=data.draw(h.page_tokens(queries)),
        start_date=start,
        end_date=end,
    )
    probe.call(ledger.ListStatement, request)


@h.fuzz()
@given(request_id=st.one_of(h.request_ids(), st.just("reused-request-id")))
def test_get_request_outcome_bad_input(ledger, probe, request_id):
    request = store.GetRequestOutcomeRequest(request_id=request_id)

    response = probe.call(ledger.GetRequestOutcome, request)

    if request_id == "reused-request-id":
        assert response.recorded


@h.fuzz(scale=0.5)
@given(data=st.data())
def test_watch_changes_bad_input(hostile, ledger, probe, data):
    request = store.WatchChangesRequest(
        entity_types=data.draw(st.lists(h.enums([1, 2, 3]), max_size=4)),
        account_id=data.draw(st.one_of(st.just(0), h.ids(hostile.known.account_ids))),
    )
    after = data.draw(st.one_of(st.none(), h.sequences()))
    if after is not None:
        request.after_sequence = after
    probe.stream(ledger.WatchChanges, request)


def test_get_ledger_info_answers(ledger, probe):
    info = probe.call(ledger.GetLedgerInfo, store.GetLedgerInfoRequest())

    assert info.latest_sequence > 0
    assert len(info.currencies) >= 1


@h.fuzz(scale=0.4)
@given(
    max_violations=st.one_of(st.integers(-2, 3), st.integers(h.INT32_MIN, h.INT32_MAX))
)
def test_run_audit_bad_input(ledger, probe, max_violations):
    response = probe.call(
        ledger.RunAudit, store.RunAuditRequest(max_violations=max_violations)
    )
    if response is not None:
        assert list(response.violations) == []


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(-(10**15), 0), (-(2**63), 0), (-62_135_596_801, 0), (0, -5), (0, 2**31 - 1)],
)
def test_open_account_rejects_out_of_range_open_time(
    hostile, probe, ledger, seconds, nanos
):
    owner = hostile.known.customer_ids[0]
    request = store.OpenAccountRequest(
        request_id=f"open-time-{seconds}-{nanos}",
        account=pb.Account(
            currency_code="CZK",
            type=pb.ACCOUNT_TYPE_CHECKING,
            holders=[pb.AccountHolder(customer_id=owner, role=pb.HOLDER_ROLE_OWNER)],
            open_time=Timestamp(seconds=seconds, nanos=nanos),
        ),
    )

    response = probe.call(ledger.OpenAccount, request, write=True)

    assert response is None


def test_audit_clean_after_bad_input(ledger):
    response = ledger.RunAudit(store.RunAuditRequest(), timeout=60)

    assert [v.message for v in response.violations] == []
