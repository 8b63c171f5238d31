"""Hostile values in every RPC of the account service.

Each test sends generated requests and checks, through ``Probe``, that the
response is OK or a documented status with an ErrorInfo reason, and that a
rejected write committed nothing in the ledger store. The last test runs
the audit.
"""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2
from hypothesis import given
from hypothesis import strategies as st

from bank.accounts.v1 import account_service_pb2 as acc
from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from tests.reliability import hostile as h

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def accounts(hostile):
    return acc_grpc.AccountServiceStub(hostile.channels["accounts"])


@pytest.fixture(scope="module")
def probe(hostile):
    return h.Probe("account service", hostile.channels["ledger"])


@h.fuzz()
@given(data=st.data())
def test_create_customer_bad_input(hostile, accounts, probe, data):
    request = acc.CreateCustomerRequest(
        request_id=data.draw(h.request_ids()),
        customer=data.draw(h.customers(hostile.known)),
    )
    probe.call(accounts.CreateCustomer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_get_customer_bad_input(hostile, accounts, probe, data):
    request = acc.GetCustomerRequest(
        customer_id=data.draw(h.ids(hostile.known.customer_ids)),
        external_ref=data.draw(h.texts()),
        min_sequence=data.draw(h.sequences()),
    )
    probe.call(accounts.GetCustomer, request)


@h.fuzz()
@given(data=st.data())
def test_list_customers_bad_input(accounts, probe, data):
    request = acc.ListCustomersRequest(
        page_size=data.draw(h.page_sizes()),
        page_token=data.draw(h.page_tokens(["customers", "accounts:0"])),
    )
    probe.call(accounts.ListCustomers, request)


@h.fuzz()
@given(data=st.data())
def test_update_customer_bad_input(hostile, accounts, probe, data):
    valid = ["full_name", "email", "phone", "region"]
    request = acc.UpdateCustomerRequest(
        request_id=data.draw(h.request_ids()),
        customer=data.draw(h.customers(hostile.known)),
        update_mask=field_mask_pb2.FieldMask(paths=data.draw(h.masks(valid))),
        expected_version=data.draw(h.versions()),
    )
    probe.call(accounts.UpdateCustomer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_delete_customer_bad_input(hostile, accounts, probe, data):
    request = acc.DeleteCustomerRequest(
        request_id=data.draw(h.request_ids()),
        customer_id=data.draw(h.ids(hostile.known.customer_ids)),
        expected_version=data.draw(h.versions()),
    )
    probe.call(accounts.DeleteCustomer, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_open_account_bad_input(hostile, accounts, probe, data):
    request = acc.OpenAccountRequest(
        request_id=data.draw(h.request_ids()),
        account=data.draw(h.accounts(hostile.known)),
    )
    probe.call(accounts.OpenAccount, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_get_account_bad_input(hostile, accounts, probe, data):
    request = acc.GetAccountRequest(
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        external_ref=data.draw(h.texts()),
        min_sequence=data.draw(h.sequences()),
    )
    probe.call(accounts.GetAccount, request)


@h.fuzz()
@given(data=st.data())
def test_list_accounts_bad_input(hostile, accounts, probe, data):
    customer_id = data.draw(st.one_of(st.just(0), h.ids(hostile.known.customer_ids)))
    queries = [f"accounts:{customer_id}", "accounts:0", "customers"]
    request = acc.ListAccountsRequest(
        customer_id=customer_id,
        page_size=data.draw(h.page_sizes()),
        page_token=data.draw(h.page_tokens(queries)),
    )
    probe.call(accounts.ListAccounts, request)


@h.fuzz()
@given(data=st.data())
def test_update_account_bad_input(hostile, accounts, probe, data):
    valid = ["nickname", "overdraft_limit", "status"]
    request = acc.UpdateAccountRequest(
        request_id=data.draw(h.request_ids()),
        account=data.draw(h.accounts(hostile.known)),
        update_mask=field_mask_pb2.FieldMask(paths=data.draw(h.masks(valid))),
        expected_version=data.draw(h.versions()),
    )
    probe.call(accounts.UpdateAccount, request, write=True)


@h.fuzz()
@given(data=st.data())
def test_close_account_bad_input(hostile, accounts, probe, data):
    request = acc.CloseAccountRequest(
        request_id=data.draw(h.request_ids()),
        account_id=data.draw(h.ids(hostile.known.account_ids)),
        expected_version=data.draw(h.versions()),
    )
    probe.call(accounts.CloseAccount, request, write=True)


@h.fuzz(scale=0.5)
@given(data=st.data())
def test_watch_account_bad_input(hostile, accounts, probe, data):
    request = acc.WatchAccountRequest(
        account_id=data.draw(h.ids(hostile.known.account_ids))
    )
    probe.stream(accounts.WatchAccount, request, wait=0.5)


def test_get_service_status_answers(accounts, probe):
    response = probe.call(accounts.GetServiceStatus, acc.GetServiceStatusRequest())

    assert response.view_accounts > 0


def test_audit_clean_after_bad_input(hostile):
    ledger = store_grpc.LedgerStoreServiceStub(hostile.channels["ledger"])

    response = ledger.RunAudit(store.RunAuditRequest(), timeout=60)

    assert [v.message for v in response.violations] == []
