"""Customers and accounts through the account service's generated stubs."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from tests.support.bank import (
    close_account,
    czk,
    latest_sequence,
    new_request_id,
    reason_of,
    rpc_error,
    update_account,
)

pytestmark = pytest.mark.e2e


def create_request(**fields) -> acc.CreateCustomerRequest:
    return acc.CreateCustomerRequest(
        request_id=new_request_id("customer"), customer=pb.Customer(**fields)
    )


def test_create_and_get_customer(bank):
    created = bank.accounts.CreateCustomer(
        create_request(
            full_name="  Jana Nováková ",
            email="jana@example.com",
            phone="+420 600 100 200",
            birth_date="1971-03-04",
            sex=pb.SEX_FEMALE,
            region="Praha",
            external_ref="test:jana",
        ),
        timeout=10,
    )
    customer = created.customer

    by_id = bank.accounts.GetCustomer(
        acc.GetCustomerRequest(customer_id=customer.customer_id), timeout=10
    )
    by_ref = bank.accounts.GetCustomer(
        acc.GetCustomerRequest(external_ref="test:jana"), timeout=10
    )

    assert customer.customer_id > 0
    assert customer.full_name == "Jana Nováková"
    assert customer.status == pb.CUSTOMER_STATUS_ACTIVE
    assert customer.version == 1
    assert customer.change_sequence == created.commit_sequence
    assert customer.create_time.seconds > 0
    assert by_id.customer == customer
    assert by_ref.customer == customer


def test_update_customer_changes_only_masked_fields(bank):
    customer = bank.create_customer("Old Name", email="old@example.com")

    updated = bank.accounts.UpdateCustomer(
        acc.UpdateCustomerRequest(
            request_id=new_request_id("update"),
            customer=pb.Customer(
                customer_id=customer.customer_id,
                full_name="New Name",
                email="ignored@example.com",
                region="Brno",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["full_name", "region"]),
            expected_version=customer.version,
        ),
        timeout=10,
    ).customer

    assert updated.full_name == "New Name"
    assert updated.region == "Brno"
    assert updated.email == "old@example.com"
    assert updated.version == customer.version + 1


def test_delete_customer_without_accounts(bank):
    customer = bank.create_customer("Leaving")

    deleted = bank.accounts.DeleteCustomer(
        acc.DeleteCustomerRequest(
            request_id=new_request_id("delete"),
            customer_id=customer.customer_id,
            expected_version=customer.version,
        ),
        timeout=10,
    ).customer
    read = bank.accounts.GetCustomer(
        acc.GetCustomerRequest(customer_id=customer.customer_id), timeout=10
    ).customer

    assert deleted.status == pb.CUSTOMER_STATUS_DELETED
    assert read.status == pb.CUSTOMER_STATUS_DELETED
    assert read.version == customer.version + 1


def test_delete_customer_with_open_account(bank):
    customer = bank.create_customer("Holder")
    account = bank.open_account(customer.customer_id)
    before = latest_sequence(bank)

    error = rpc_error(
        lambda: bank.accounts.DeleteCustomer(
            acc.DeleteCustomerRequest(
                request_id=new_request_id("delete"),
                customer_id=customer.customer_id,
                expected_version=customer.version,
            ),
            timeout=10,
        )
    )

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "CUSTOMER_HAS_OPEN_ACCOUNTS"
    assert str(account.account_id) in error.details()
    assert latest_sequence(bank) == before
    assert bank.ledger_account(account.account_id).status == pb.ACCOUNT_STATUS_ACTIVE


def test_delete_customer_after_closing_accounts(bank):
    customer = bank.create_customer("Closer")
    account = bank.open_account(customer.customer_id)
    close_account(bank, account)

    deleted = bank.accounts.DeleteCustomer(
        acc.DeleteCustomerRequest(
            request_id=new_request_id("delete"),
            customer_id=customer.customer_id,
            expected_version=customer.version,
        ),
        timeout=10,
    ).customer

    assert deleted.status == pb.CUSTOMER_STATUS_DELETED


def test_open_joint_account(bank):
    owner = bank.create_customer("Owner")
    helper = bank.create_customer("Helper")
    holders = [
        pb.AccountHolder(
            customer_id=helper.customer_id, role=pb.HOLDER_ROLE_AUTHORIZED
        ),
        pb.AccountHolder(customer_id=owner.customer_id, role=pb.HOLDER_ROLE_OWNER),
    ]

    opened = bank.accounts.OpenAccount(
        acc.OpenAccountRequest(
            request_id=new_request_id("open"),
            account=pb.Account(
                currency_code="EUR",
                type=pb.ACCOUNT_TYPE_SAVINGS,
                holders=holders,
                nickname="holiday",
                overdraft_limit=pb.Money(currency_code="EUR", minor_units=0),
                external_ref="test:joint",
            ),
        ),
        timeout=10,
    )
    account = opened.account

    assert account.status == pb.ACCOUNT_STATUS_ACTIVE
    assert account.type == pb.ACCOUNT_TYPE_SAVINGS
    assert account.balance == pb.Money(currency_code="EUR", minor_units=0)
    assert account.version == 1
    assert [h.customer_id for h in account.holders] == [
        owner.customer_id,
        helper.customer_id,
    ]
    assert account.change_sequence == opened.commit_sequence
    by_ref = bank.accounts.GetAccount(
        acc.GetAccountRequest(external_ref="test:joint"), timeout=10
    ).account
    assert by_ref == account
    helper_accounts = bank.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=helper.customer_id), timeout=10
    ).accounts
    assert [a.account_id for a in helper_accounts] == [account.account_id]


def test_get_account_waits_for_min_sequence(bank):
    account = bank.open_account()
    posted = bank.deposit(account.account_id, 1_234)

    read = bank.get_account(account.account_id, posted.commit_sequence)

    assert read.balance.minor_units == 1_234
    assert posted.transaction.change_sequence < read.change_sequence
    assert read.change_sequence <= posted.commit_sequence
    assert read.last_activity_time.seconds > 0


def test_update_account_nickname_and_limit(bank):
    account = bank.open_account(overdraft=0)

    updated = update_account(
        bank,
        account,
        ["nickname", "overdraft_limit"],
        nickname="bills",
        overdraft_limit=czk(50_000),
    ).account

    assert updated.nickname == "bills"
    assert updated.overdraft_limit == czk(50_000)
    assert updated.version == account.version + 1
    assert bank.ledger_account(account.account_id) == updated


def test_freeze_and_unfreeze_account(bank):
    account = bank.open_account()
    bank.deposit(account.account_id, 1_000)
    frozen = bank.set_status(account, pb.ACCOUNT_STATUS_FROZEN)
    before = latest_sequence(bank)

    blocked = rpc_error(
        lambda: bank.withdraw(
            account.account_id, 100, min_sequence=frozen.commit_sequence
        )
    )
    assert blocked.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(blocked) == "ACCOUNT_FROZEN"
    assert latest_sequence(bank) == before

    active = bank.set_status(frozen.account, pb.ACCOUNT_STATUS_ACTIVE)
    withdrawn = bank.withdraw(
        account.account_id, 100, min_sequence=active.commit_sequence
    )

    assert withdrawn.transaction.amount == czk(100)
    assert bank.ledger_account(account.account_id).balance == czk(900)


def test_close_account_at_zero_balance(bank):
    account = bank.open_account()
    bank.deposit(account.account_id, 500)
    bank.withdraw(account.account_id, 500)

    closed = close_account(bank, bank.ledger_account(account.account_id)).account

    assert closed.status == pb.ACCOUNT_STATUS_CLOSED
    assert closed.close_time.seconds > 0
    error = rpc_error(lambda: bank.deposit(account.account_id, 1))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "ACCOUNT_CLOSED"
    assert bank.ledger_account(account.account_id).balance == czk(0)


@pytest.mark.parametrize("balance", [700, -300])
def test_close_with_nonzero_balance_is_rejected(bank, balance):
    account = bank.open_account(overdraft=1_000)
    if balance > 0:
        bank.deposit(account.account_id, balance)
    else:
        bank.withdraw(account.account_id, -balance)
    current = bank.ledger_account(account.account_id)
    before = latest_sequence(bank)

    error = rpc_error(lambda: close_account(bank, current))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "NONZERO_BALANCE"
    assert str(balance) in error.details()
    assert bank.ledger_account(account.account_id) == current
    assert latest_sequence(bank) == before


def test_stale_version_rejected_by_every_update(bank):
    customer = bank.create_customer("Versioned")
    account = bank.open_account(customer.customer_id)
    update_account(bank, account, ["nickname"], nickname="first")
    before = latest_sequence(bank)

    calls = {
        "UpdateAccount": lambda: update_account(
            bank, account, ["nickname"], nickname="second"
        ),
        "CloseAccount": lambda: close_account(bank, account),
        "UpdateCustomer": lambda: bank.accounts.UpdateCustomer(
            acc.UpdateCustomerRequest(
                request_id=new_request_id("update"),
                customer=pb.Customer(customer_id=customer.customer_id, region="X"),
                update_mask=field_mask_pb2.FieldMask(paths=["region"]),
                expected_version=customer.version + 5,
            ),
            timeout=10,
        ),
        "DeleteCustomer": lambda: bank.accounts.DeleteCustomer(
            acc.DeleteCustomerRequest(
                request_id=new_request_id("delete"),
                customer_id=customer.customer_id,
                expected_version=customer.version + 5,
            ),
            timeout=10,
        ),
    }
    for method, call in calls.items():
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.ABORTED, method
        assert reason_of(error) == "VERSION_MISMATCH", method

    assert latest_sequence(bank) == before
    assert bank.ledger_account(account.account_id).nickname == "first"


def test_list_customers_pages_to_the_end(bank):
    created = {bank.create_customer(f"Pager {i}").customer_id for i in range(7)}

    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        page = bank.accounts.ListCustomers(
            acc.ListCustomersRequest(page_size=3, page_token=token), timeout=10
        )
        pages += 1
        assert len(page.customers) <= 3
        seen.extend(c.customer_id for c in page.customers)
        token = page.next_page_token
        if not token:
            break

    assert created <= set(seen)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert pages == -(-len(seen) // 3)


def test_list_accounts_pages_to_the_end(bank):
    customer = bank.create_customer("Many Accounts")
    opened = [bank.open_account(customer.customer_id).account_id for _ in range(5)]

    seen: list[int] = []
    token = ""
    while True:
        page = bank.accounts.ListAccounts(
            acc.ListAccountsRequest(
                customer_id=customer.customer_id, page_size=2, page_token=token
            ),
            timeout=10,
        )
        assert len(page.accounts) <= 2
        seen.extend(a.account_id for a in page.accounts)
        token = page.next_page_token
        if not token:
            break

    assert seen == opened


def test_list_all_accounts_includes_bank_accounts(bank):
    page = bank.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=0, page_size=1000), timeout=10
    )

    internal = [a for a in page.accounts if a.type == pb.ACCOUNT_TYPE_INTERNAL]
    assert {a.currency_code for a in internal} >= {"CZK", "EUR"}
    assert all(not a.holders for a in internal)
    assert all(not a.HasField("overdraft_limit") for a in internal)


def test_watch_account_streams_state_then_changes(bank):
    account = bank.open_account()
    stream = bank.accounts.WatchAccount(
        acc.WatchAccountRequest(account_id=account.account_id), timeout=10
    )
    try:
        first = next(stream)
        posted = bank.deposit(account.account_id, 250)
        frozen = bank.set_status(
            bank.get_account(account.account_id, posted.commit_sequence),
            pb.ACCOUNT_STATUS_FROZEN,
        )
        changes = [next(stream), next(stream)]
    finally:
        stream.cancel()

    assert first.change_kind == pb.CHANGE_KIND_UNSPECIFIED
    assert first.account.account_id == account.account_id
    assert first.account.balance == czk(0)
    assert changes[0].change_kind == pb.CHANGE_KIND_BALANCE_CHANGED
    assert changes[0].account.balance == czk(250)
    assert changes[1].change_kind == pb.CHANGE_KIND_UPDATED
    assert changes[1].account.status == pb.ACCOUNT_STATUS_FROZEN
    assert changes[1].sequence == frozen.commit_sequence


def test_account_service_status_follows_the_feed(bank):
    account = bank.open_account()
    posted = bank.deposit(account.account_id, 10)
    bank.get_account(account.account_id, posted.commit_sequence)

    status = bank.accounts.GetServiceStatus(acc.GetServiceStatusRequest(), timeout=10)

    assert status.feed_connected
    assert status.applied_sequence >= posted.commit_sequence
    assert status.ledger_sequence >= status.applied_sequence
    assert status.lag == status.ledger_sequence - status.applied_sequence
    assert status.view_accounts >= 2
