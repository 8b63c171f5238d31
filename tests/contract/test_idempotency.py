"""Request ids: a retry returns the first result, a reused id is rejected."""

import grpc

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.contract.client import TIMEOUT, fails, money, request_id

REUSED = grpc.StatusCode.ALREADY_EXISTS


def test_create_customer_retry_returns_first_result(api):
    request = acc.CreateCustomerRequest(
        request_id=request_id("customer"), customer=pb.Customer(full_name="Once Only")
    )

    first = api.accounts.CreateCustomer(request, timeout=TIMEOUT)
    retry = api.accounts.CreateCustomer(request, timeout=TIMEOUT)

    assert retry == first


def test_open_account_retry_opens_one_account(api):
    customer = api.customer()
    request = acc.OpenAccountRequest(
        request_id=request_id("open"),
        account=pb.Account(
            currency_code="CZK",
            type=pb.ACCOUNT_TYPE_CHECKING,
            holders=[
                pb.AccountHolder(
                    customer_id=customer.customer_id, role=pb.HOLDER_ROLE_OWNER
                )
            ],
        ),
    )

    first = api.accounts.OpenAccount(request, timeout=TIMEOUT)
    retry = api.accounts.OpenAccount(request, timeout=TIMEOUT)
    listed = api.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=customer.customer_id), timeout=TIMEOUT
    )

    assert retry == first
    assert [a.account_id for a in listed.accounts] == [first.account.account_id]


def test_update_retry_after_later_change(api):
    account = api.account()
    first = api.update_account(account, ["nickname"], nickname="First")
    request = acc.UpdateAccountRequest(
        request_id=request_id("update"),
        account=pb.Account(account_id=account.account_id, nickname="Second"),
        update_mask={"paths": ["nickname"]},
        expected_version=first.account.version,
    )
    second = api.accounts.UpdateAccount(request, timeout=TIMEOUT)
    api.update_account(second.account, ["nickname"], nickname="Third")

    retry = api.accounts.UpdateAccount(request, timeout=TIMEOUT)

    assert retry == second
    assert retry.account.nickname == "Second"


def test_deposit_retry_posts_once(api):
    account = api.account()
    request = api.deposit_request(account.account_id, 4_200)

    first = api.transactions.Deposit(request, timeout=TIMEOUT)
    retry = api.transactions.Deposit(request, timeout=TIMEOUT)
    balance = api.get_account(account.account_id, retry.commit_sequence).balance
    lines, _ = api.statement(account.account_id)

    assert retry == first
    assert balance == money(4_200)
    assert len(lines) == 1


def test_transfer_retry_posts_once(api):
    source, destination = api.account(), api.account()
    api.deposit(source.account_id, 1_000)
    request = api.transfer_request(source.account_id, destination.account_id, 600)

    first = api.transactions.Transfer(request, timeout=TIMEOUT)
    # A second transfer of 600 would fail for lack of funds; the retry
    # returns the first result instead.
    retry = api.transactions.Transfer(request, timeout=TIMEOUT)

    assert retry == first
    after = retry.commit_sequence
    assert api.get_account(source.account_id, after).balance == money(400)


def test_retry_after_freeze_returns_first_result(api):
    account = api.account()
    request = api.deposit_request(account.account_id, 300)
    first = api.transactions.Deposit(request, timeout=TIMEOUT)
    frozen = api.set_status(account, pb.ACCOUNT_STATUS_FROZEN)
    request.min_sequence = frozen.commit_sequence

    retry = api.transactions.Deposit(request, timeout=TIMEOUT)

    assert retry.transaction == first.transaction


def test_retry_after_close_returns_first_result(api):
    account = api.account()
    api.deposit(account.account_id, 300)
    request = api.withdraw_request(account.account_id, 300)
    first = api.transactions.Withdraw(request, timeout=TIMEOUT)
    emptied = api.get_account(account.account_id, first.commit_sequence)
    closed = api.close_account(emptied)
    request.min_sequence = closed.commit_sequence

    retry = api.transactions.Withdraw(request, timeout=TIMEOUT)

    assert retry.transaction == first.transaction


def test_reverse_retry_returns_first_reversal(api):
    account = api.account()
    deposit = api.deposit(account.account_id, 100).transaction
    request = txn.ReverseTransactionRequest(
        request_id=request_id("reverse"), transaction_id=deposit.transaction_id
    )

    first = api.transactions.ReverseTransaction(request, timeout=TIMEOUT)
    retry = api.transactions.ReverseTransaction(request, timeout=TIMEOUT)

    assert retry == first


def test_same_id_with_other_amount_is_rejected(api):
    account = api.account()
    used = request_id("deposit")
    api.deposit(account.account_id, 100, request_id=used)

    failure = fails(
        api.transactions.Deposit,
        api.deposit_request(account.account_id, 101, request_id=used),
    )

    assert failure.code == REUSED
    assert failure.reason == "REQUEST_ID_REUSED"
    assert failure.metadata["request_id"] == used
    balance = api.get_account(account.account_id).balance
    assert balance == money(100)


def test_same_id_for_other_operation_is_rejected(api):
    account = api.account()
    api.deposit(account.account_id, 1_000)
    used = request_id("shared")
    api.accounts.CreateCustomer(
        acc.CreateCustomerRequest(
            request_id=used, customer=pb.Customer(full_name="Id Owner")
        ),
        timeout=TIMEOUT,
    )
    cases = [
        (
            api.transactions.Deposit,
            api.deposit_request(account.account_id, 5, request_id=used),
        ),
        (
            api.transactions.Withdraw,
            api.withdraw_request(account.account_id, 5, request_id=used),
        ),
        (
            api.accounts.CreateCustomer,
            acc.CreateCustomerRequest(
                request_id=used, customer=pb.Customer(full_name="Someone Else")
            ),
        ),
    ]

    for call, request in cases:
        failure = fails(call, request)
        assert failure.code == REUSED
        assert failure.reason == "REQUEST_ID_REUSED"
        assert failure.metadata["first_method"] == "CreateCustomer"


def test_rejected_request_id_can_be_retried(api):
    account = api.account()
    request = api.withdraw_request(account.account_id, 500)

    rejected = fails(api.transactions.Withdraw, request)
    funded = api.deposit(account.account_id, 500)
    retry = api.transactions.Withdraw(request, timeout=TIMEOUT)

    # Only committed results are kept, so a rejected id may be used again.
    assert rejected.reason == "INSUFFICIENT_FUNDS"
    assert retry.commit_sequence > funded.commit_sequence
