"""AccountService account RPCs: open, get, list, update, close, status."""

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from tests.contract.client import TIMEOUT, fails, money, request_id

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def owner(customer_id: int) -> pb.AccountHolder:
    return pb.AccountHolder(customer_id=customer_id, role=pb.HOLDER_ROLE_OWNER)


def open_request(**fields) -> acc.OpenAccountRequest:
    return acc.OpenAccountRequest(
        request_id=request_id("open"), account=pb.Account(**fields)
    )


def test_open_account_returns_new_account(api):
    customer = api.customer()
    ref = request_id("core")

    response = api.open_account(
        customer.customer_id,
        currency="EUR",
        overdraft=50_000,
        nickname="Household",
        external_ref=ref,
        type=pb.ACCOUNT_TYPE_SAVINGS,
    )
    account = response.account

    assert account.account_id > 0
    assert account.currency_code == "EUR"
    assert account.type == pb.ACCOUNT_TYPE_SAVINGS
    assert account.status == pb.ACCOUNT_STATUS_ACTIVE
    assert account.balance == money(0, "EUR")
    assert account.overdraft_limit == money(50_000, "EUR")
    assert account.nickname == "Household"
    assert account.external_ref == ref
    assert list(account.holders) == [owner(customer.customer_id)]
    assert account.version == 1
    assert account.open_time.seconds > 0
    assert response.commit_sequence == account.change_sequence


def test_open_account_with_authorized_holder(api):
    first, second = api.customer(), api.customer()
    holders = [
        pb.AccountHolder(
            customer_id=second.customer_id, role=pb.HOLDER_ROLE_AUTHORIZED
        ),
        owner(first.customer_id),
    ]

    account = api.account(holders=holders)

    roles = {holder.customer_id: holder.role for holder in account.holders}
    assert roles == {
        first.customer_id: pb.HOLDER_ROLE_OWNER,
        second.customer_id: pb.HOLDER_ROLE_AUTHORIZED,
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"currency_code": "", "type": 1}, "MISSING_FIELD"),
        ({"currency_code": "czk", "type": 1}, "INVALID_CURRENCY"),
        ({"currency_code": "XXX", "type": 1}, "UNKNOWN_CURRENCY"),
        ({"currency_code": "CZK", "type": 0}, "INVALID_ENUM"),
        ({"currency_code": "CZK", "type": pb.ACCOUNT_TYPE_INTERNAL}, "INVALID_ENUM"),
        ({"currency_code": "CZK", "type": 1, "holders": []}, "MISSING_FIELD"),
        (
            {"currency_code": "CZK", "type": 1, "overdraft_limit": money(-1)},
            "INVALID_AMOUNT",
        ),
        (
            {"currency_code": "CZK", "type": 1, "overdraft_limit": money(5, "EUR")},
            "CURRENCY_MISMATCH",
        ),
        ({"currency_code": "CZK", "type": 1, "nickname": "n" * 101}, "FIELD_TOO_LONG"),
    ],
)
def test_open_account_rejects_invalid_account(api, fields, reason):
    customer = api.customer()
    fields.setdefault("holders", [owner(customer.customer_id)])

    failure = fails(api.accounts.OpenAccount, open_request(**fields))

    assert failure.code == INVALID
    assert failure.reason == reason


def test_open_account_rejects_bad_holders(api):
    customer = api.customer()
    authorized = pb.AccountHolder(
        customer_id=customer.customer_id, role=pb.HOLDER_ROLE_AUTHORIZED
    )
    cases = {
        "MISSING_OWNER": [authorized],
        "DUPLICATE_HOLDER": [owner(customer.customer_id), authorized],
        "INVALID_ENUM": [pb.AccountHolder(customer_id=customer.customer_id)],
        "INVALID_ID": [owner(0)],
    }

    for reason, holders in cases.items():
        failure = fails(
            api.accounts.OpenAccount,
            open_request(currency_code="CZK", type=1, holders=holders),
        )
        assert failure.code == INVALID, reason
        assert failure.reason == reason


def test_open_account_for_unknown_customer(api):
    failure = fails(
        api.accounts.OpenAccount,
        open_request(currency_code="CZK", type=1, holders=[owner(10**12)]),
    )

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "CUSTOMER_NOT_FOUND"


def test_open_account_rejects_taken_external_ref(api):
    ref = request_id("core")
    api.account(external_ref=ref)

    failure = fails(
        api.accounts.OpenAccount,
        open_request(
            currency_code="CZK",
            type=1,
            holders=[owner(api.customer().customer_id)],
            external_ref=ref,
        ),
    )

    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "EXTERNAL_REF_TAKEN"


def test_get_account_by_id_and_external_ref(api):
    ref = request_id("core")
    opened = api.open_account(external_ref=ref)

    by_id = api.get_account(opened.account.account_id, opened.commit_sequence)
    by_ref = api.accounts.GetAccount(
        acc.GetAccountRequest(external_ref=ref), timeout=TIMEOUT
    ).account

    assert by_id == opened.account
    assert by_ref == opened.account


@pytest.mark.parametrize(
    ("request_fields", "code", "reason"),
    [
        ({"account_id": 10**12}, grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND"),
        ({"external_ref": "no-such"}, grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND"),
        ({}, INVALID, "INVALID_KEY"),
        ({"account_id": 3, "external_ref": "both"}, INVALID, "INVALID_KEY"),
        ({"account_id": -1}, INVALID, "INVALID_ID"),
    ],
)
def test_get_account_errors(api, request_fields, code, reason):
    failure = fails(api.accounts.GetAccount, acc.GetAccountRequest(**request_fields))

    assert failure.code == code
    assert failure.reason == reason


def test_get_account_sees_posting_with_min_sequence(api):
    account = api.account()
    posted = api.deposit(account.account_id, 1_234)

    read = api.get_account(account.account_id, posted.commit_sequence)

    assert read.balance == money(1_234)
    assert account.change_sequence < read.change_sequence <= posted.commit_sequence


def test_list_accounts_of_customer_pages_to_the_end(api):
    customer = api.customer()
    opened = [api.account(customer.customer_id).account_id for _ in range(5)]
    other = api.account(holders=[owner(api.customer().customer_id)])
    seen: list[int] = []
    sizes: list[int] = []
    token = ""

    while True:
        page = api.accounts.ListAccounts(
            acc.ListAccountsRequest(
                customer_id=customer.customer_id, page_size=2, page_token=token
            ),
            timeout=TIMEOUT,
        )
        sizes.append(len(page.accounts))
        seen.extend(account.account_id for account in page.accounts)
        token = page.next_page_token
        if not token:
            break

    assert seen == opened
    assert sizes == [2, 2, 1]
    assert other.account_id not in seen


def test_list_accounts_includes_authorized_holder(api):
    owner_customer, authorized = api.customer(), api.customer()
    account = api.account(
        holders=[
            owner(owner_customer.customer_id),
            pb.AccountHolder(
                customer_id=authorized.customer_id, role=pb.HOLDER_ROLE_AUTHORIZED
            ),
        ]
    )

    page = api.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=authorized.customer_id), timeout=TIMEOUT
    )

    assert [a.account_id for a in page.accounts] == [account.account_id]
    assert page.next_page_token == ""


def test_list_accounts_errors(api):
    customer = api.customer()
    for _ in range(2):
        api.account(customer.customer_id)
    first_page = api.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=customer.customer_id, page_size=1),
        timeout=TIMEOUT,
    )
    cases = [
        (acc.ListAccountsRequest(customer_id=10**12), "CUSTOMER_NOT_FOUND"),
        (acc.ListAccountsRequest(customer_id=-2), "INVALID_ID"),
        (acc.ListAccountsRequest(page_size=5000), "INVALID_PAGE_SIZE"),
        (
            # A token is bound to the query that produced it.
            acc.ListAccountsRequest(page_token=first_page.next_page_token),
            "INVALID_PAGE_TOKEN",
        ),
    ]

    for request, reason in cases:
        failure = fails(api.accounts.ListAccounts, request)
        assert failure.reason == reason
        expected = grpc.StatusCode.NOT_FOUND if "NOT_FOUND" in reason else INVALID
        assert failure.code == expected


def test_update_account_changes_nickname_and_limit(api):
    account = api.account(overdraft=0)

    response = api.update_account(
        account,
        ["nickname", "overdraft_limit"],
        nickname="Travel",
        overdraft_limit=money(20_000),
    )

    assert response.account.nickname == "Travel"
    assert response.account.overdraft_limit == money(20_000)
    assert response.account.version == account.version + 1
    assert response.account.status == pb.ACCOUNT_STATUS_ACTIVE


def test_freeze_and_unfreeze_account(api):
    account = api.account()

    frozen = api.set_status(account, pb.ACCOUNT_STATUS_FROZEN).account
    active = api.set_status(frozen, pb.ACCOUNT_STATUS_ACTIVE).account

    assert frozen.status == pb.ACCOUNT_STATUS_FROZEN
    assert active.status == pb.ACCOUNT_STATUS_ACTIVE
    assert active.version == account.version + 2


def test_update_account_rejects_stale_version(api):
    account = api.account()
    api.update_account(account, ["nickname"], nickname="First")

    failure = fails(
        api.accounts.UpdateAccount,
        acc.UpdateAccountRequest(
            request_id=request_id("update"),
            account=pb.Account(account_id=account.account_id, nickname="Second"),
            update_mask=field_mask_pb2.FieldMask(paths=["nickname"]),
            expected_version=account.version,
        ),
    )

    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "VERSION_MISMATCH"


@pytest.mark.parametrize(
    ("paths", "changes", "reason"),
    [
        ([], {}, "INVALID_FIELD_MASK"),
        (["balance"], {"balance": money(5)}, "INVALID_FIELD_MASK"),
        (["status"], {"status": pb.ACCOUNT_STATUS_CLOSED}, "INVALID_STATUS"),
        (["status"], {}, "INVALID_STATUS"),
        (["overdraft_limit"], {"overdraft_limit": money(-5)}, "INVALID_AMOUNT"),
    ],
)
def test_update_account_rejects_bad_request(api, paths, changes, reason):
    account = api.account()

    failure = fails(
        api.accounts.UpdateAccount,
        acc.UpdateAccountRequest(
            request_id=request_id("update"),
            account=pb.Account(account_id=account.account_id, **changes),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
            expected_version=account.version,
        ),
    )

    assert failure.code == INVALID
    assert failure.reason == reason


def test_overdraft_limit_cannot_drop_below_use(api):
    account = api.account(overdraft=10_000)
    api.withdraw(account.account_id, 6_000)

    failure = fails(
        api.accounts.UpdateAccount,
        acc.UpdateAccountRequest(
            request_id=request_id("update"),
            account=pb.Account(
                account_id=account.account_id, overdraft_limit=money(5_000)
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["overdraft_limit"]),
            expected_version=account.version,
        ),
    )

    assert failure.code == PRECONDITION
    assert failure.reason == "OVERDRAFT_IN_USE"


def test_bank_accounts_cannot_be_changed(api):
    internal = api.internal_account()

    update = fails(
        api.accounts.UpdateAccount,
        acc.UpdateAccountRequest(
            request_id=request_id("update"),
            account=pb.Account(account_id=internal.account_id, nickname="mine"),
            update_mask=field_mask_pb2.FieldMask(paths=["nickname"]),
            expected_version=internal.version,
        ),
    )
    close = fails(
        api.accounts.CloseAccount,
        acc.CloseAccountRequest(
            request_id=request_id("close"),
            account_id=internal.account_id,
            expected_version=internal.version,
        ),
    )

    for failure in (update, close):
        assert failure.code == PRECONDITION
        assert failure.reason == "INTERNAL_ACCOUNT"


def test_close_account_at_zero_balance(api):
    account = api.account()

    closed = api.close_account(account).account

    assert closed.status == pb.ACCOUNT_STATUS_CLOSED
    assert closed.close_time.seconds > 0
    assert closed.version == account.version + 1


def test_close_account_with_balance_fails(api):
    account = api.account()
    api.deposit(account.account_id, 100)

    failure = fails(
        api.accounts.CloseAccount,
        acc.CloseAccountRequest(
            request_id=request_id("close"),
            account_id=account.account_id,
            expected_version=account.version,
        ),
    )

    assert failure.code == PRECONDITION
    assert failure.reason == "NONZERO_BALANCE"
    assert failure.metadata["balance"] == "100"


def test_closed_account_cannot_change(api):
    closed = api.close_account(api.account()).account

    close_again = fails(
        api.accounts.CloseAccount,
        acc.CloseAccountRequest(
            request_id=request_id("close"),
            account_id=closed.account_id,
            expected_version=closed.version,
        ),
    )
    update = fails(
        api.accounts.UpdateAccount,
        acc.UpdateAccountRequest(
            request_id=request_id("update"),
            account=pb.Account(account_id=closed.account_id, nickname="again"),
            update_mask=field_mask_pb2.FieldMask(paths=["nickname"]),
            expected_version=closed.version,
        ),
    )

    for failure in (close_again, update):
        assert failure.code == PRECONDITION
        assert failure.reason == "ACCOUNT_CLOSED"


def test_close_unknown_account_is_not_found(api):
    failure = fails(
        api.accounts.CloseAccount,
        acc.CloseAccountRequest(
            request_id=request_id("close"), account_id=10**12, expected_version=1
        ),
    )

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "ACCOUNT_NOT_FOUND"


def test_account_service_status_reports_feed(api):
    posted = api.deposit(api.account().account_id, 10)
    api.get_account(posted.transaction.entries[0].account_id, posted.commit_sequence)

    status = api.accounts.GetServiceStatus(
        acc.GetServiceStatusRequest(), timeout=TIMEOUT
    )

    assert status.feed_connected
    assert status.applied_sequence >= posted.commit_sequence
    assert status.ledger_sequence >= status.applied_sequence
    assert status.lag == status.ledger_sequence - status.applied_sequence
    assert status.view_accounts > 0
