"""AccountService customer RPCs: create, get, list, update, delete."""

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from tests.contract.client import TIMEOUT, fails, request_id

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def create_request(**fields) -> acc.CreateCustomerRequest:
    return acc.CreateCustomerRequest(
        request_id=request_id("customer"), customer=pb.Customer(**fields)
    )


def update_request(customer: pb.Customer, paths, version=None, **changes):
    return acc.UpdateCustomerRequest(
        request_id=request_id("update-customer"),
        customer=pb.Customer(customer_id=customer.customer_id, **changes),
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        expected_version=customer.version if version is None else version,
    )


def delete_request(customer: pb.Customer, version=None) -> acc.DeleteCustomerRequest:
    return acc.DeleteCustomerRequest(
        request_id=request_id("delete"),
        customer_id=customer.customer_id,
        expected_version=customer.version if version is None else version,
    )


def test_create_customer_returns_stored_record(api):
    ref = request_id("crm")

    response = api.create_customer(
        "Alena Novakova",
        email="alena@example.com",
        phone="+420 600 000 001",
        birth_date="1980-02-29",
        sex=pb.SEX_FEMALE,
        region="Praha",
        external_ref=ref,
    )
    customer = response.customer

    assert customer.customer_id > 0
    assert customer.full_name == "Alena Novakova"
    assert customer.email == "alena@example.com"
    assert customer.birth_date == "1980-02-29"
    assert customer.sex == pb.SEX_FEMALE
    assert customer.external_ref == ref
    assert customer.status == pb.CUSTOMER_STATUS_ACTIVE
    assert customer.version == 1
    assert customer.create_time.seconds > 0
    assert response.commit_sequence > 0
    assert customer.change_sequence == response.commit_sequence


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ({}, "MISSING_FIELD", "customer.full_name"),
        ({"full_name": "   "}, "MISSING_FIELD", "customer.full_name"),
        ({"full_name": "x" * 201}, "FIELD_TOO_LONG", "customer.full_name"),
        ({"full_name": "Line\nBreak"}, "INVALID_TEXT", "customer.full_name"),
        ({"full_name": "A", "email": "not-an-address"}, "INVALID_EMAIL", None),
        ({"full_name": "A", "birth_date": "1980-02-30"}, "INVALID_DATE", None),
        ({"full_name": "A", "birth_date": "29.2.1980"}, "INVALID_DATE", None),
        ({"full_name": "A", "sex": 7}, "INVALID_ENUM", "customer.sex"),
        ({"full_name": "A", "phone": "1" * 33}, "FIELD_TOO_LONG", None),
    ],
)
def test_create_customer_rejects_invalid_fields(api, fields, reason, field):
    failure = fails(api.accounts.CreateCustomer, create_request(**fields))

    assert failure.code == INVALID
    assert failure.reason == reason
    assert failure.domain == "bank.ledger"
    if field is not None:
        assert failure.metadata["field"] == field


def test_create_customer_requires_request_id(api):
    request = acc.CreateCustomerRequest(customer=pb.Customer(full_name="No Id"))

    failure = fails(api.accounts.CreateCustomer, request)

    assert failure.code == INVALID
    assert failure.reason == "MISSING_REQUEST_ID"


def test_create_customer_rejects_taken_external_ref(api):
    ref = request_id("crm")
    api.customer("First", external_ref=ref)

    failure = fails(
        api.accounts.CreateCustomer,
        create_request(full_name="Second", external_ref=ref),
    )

    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "EXTERNAL_REF_TAKEN"
    assert ref in failure.message


def test_get_customer_by_id_and_external_ref(api):
    ref = request_id("crm")
    created = api.customer("Jan Dvorak", external_ref=ref)

    by_id = api.accounts.GetCustomer(
        acc.GetCustomerRequest(customer_id=created.customer_id), timeout=TIMEOUT
    )
    by_ref = api.accounts.GetCustomer(
        acc.GetCustomerRequest(external_ref=ref), timeout=TIMEOUT
    )

    assert by_id.customer == created
    assert by_ref.customer == created


@pytest.mark.parametrize(
    ("request_fields", "code", "reason"),
    [
        ({"customer_id": 10**12}, grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND"),
        (
            {"external_ref": "no-such-ref"},
            grpc.StatusCode.NOT_FOUND,
            "CUSTOMER_NOT_FOUND",
        ),
        ({}, INVALID, "INVALID_KEY"),
        ({"customer_id": 1, "external_ref": "both"}, INVALID, "INVALID_KEY"),
        ({"customer_id": -5}, INVALID, "INVALID_ID"),
    ],
)
def test_get_customer_errors(api, request_fields, code, reason):
    failure = fails(api.accounts.GetCustomer, acc.GetCustomerRequest(**request_fields))

    assert failure.code == code
    assert failure.reason == reason


def test_list_customers_pages_to_the_end(api):
    created = {api.customer(f"Pager {i}").customer_id for i in range(5)}
    seen: list[int] = []
    token = ""
    pages = 0

    while True:
        page = api.accounts.ListCustomers(
            acc.ListCustomersRequest(page_size=2, page_token=token), timeout=TIMEOUT
        )
        pages += 1
        assert len(page.customers) <= 2
        seen.extend(customer.customer_id for customer in page.customers)
        token = page.next_page_token
        if not token:
            break

    assert created <= set(seen)
    assert len(seen) == len(set(seen)), "a customer appeared on two pages"
    assert seen == sorted(seen)
    assert pages >= 3


@pytest.mark.parametrize("page_size", [-1, 1001])
def test_list_customers_rejects_page_size(api, page_size):
    failure = fails(
        api.accounts.ListCustomers, acc.ListCustomersRequest(page_size=page_size)
    )

    assert failure.code == INVALID
    assert failure.reason == "INVALID_PAGE_SIZE"


def test_list_customers_rejects_foreign_token(api):
    customer = api.customer()
    for _ in range(2):
        api.account(customer.customer_id)
    accounts_page = api.accounts.ListAccounts(
        acc.ListAccountsRequest(customer_id=customer.customer_id, page_size=1),
        timeout=TIMEOUT,
    )

    for token in (accounts_page.next_page_token, "not-a-token"):
        failure = fails(
            api.accounts.ListCustomers, acc.ListCustomersRequest(page_token=token)
        )
        assert failure.code == INVALID
        assert failure.reason == "INVALID_PAGE_TOKEN"


def test_update_customer_changes_masked_fields(api):
    customer = api.customer("Petr Maly", email="petr@example.com", region="Brno")

    response = api.accounts.UpdateCustomer(
        update_request(
            customer,
            ["email", "phone"],
            email="petr.maly@example.com",
            phone="+420 700 000 002",
            region="Ignored because not masked",
        ),
        timeout=TIMEOUT,
    )
    updated = response.customer

    assert updated.email == "petr.maly@example.com"
    assert updated.phone == "+420 700 000 002"
    assert updated.region == "Brno"
    assert updated.full_name == "Petr Maly"
    assert updated.version == customer.version + 1
    assert response.commit_sequence > customer.change_sequence


def test_update_customer_rejects_stale_version(api):
    customer = api.customer()
    api.accounts.UpdateCustomer(
        update_request(customer, ["region"], region="Ostrava"), timeout=TIMEOUT
    )

    failure = fails(
        api.accounts.UpdateCustomer, update_request(customer, ["region"], region="Zlin")
    )

    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "VERSION_MISMATCH"
    assert failure.metadata["current_version"] == "2"
    assert failure.metadata["expected_version"] == "1"


@pytest.mark.parametrize(
    ("paths", "version", "reason"),
    [
        ([], None, "INVALID_FIELD_MASK"),
        (["customer_id"], None, "INVALID_FIELD_MASK"),
        (["birth_date"], None, "INVALID_FIELD_MASK"),
        (["email", "email"], None, "INVALID_FIELD_MASK"),
        (["email"], 0, "MISSING_VERSION"),
    ],
)
def test_update_customer_rejects_bad_request(api, paths, version, reason):
    customer = api.customer()

    failure = fails(
        api.accounts.UpdateCustomer,
        update_request(customer, paths, version, email="new@example.com"),
    )

    assert failure.code == INVALID
    assert failure.reason == reason


def test_update_unknown_customer_is_not_found(api):
    ghost = pb.Customer(customer_id=10**12, version=1)

    failure = fails(
        api.accounts.UpdateCustomer, update_request(ghost, ["region"], region="X")
    )

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "CUSTOMER_NOT_FOUND"


def test_delete_customer_with_open_account_fails(api):
    customer = api.customer()
    account = api.account(customer.customer_id)

    failure = fails(api.accounts.DeleteCustomer, delete_request(customer))

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CUSTOMER_HAS_OPEN_ACCOUNTS"
    assert failure.metadata["open_account_ids"] == str(account.account_id)


def test_delete_customer_keeps_record_readable(api):
    customer = api.customer()
    account = api.account(customer.customer_id)
    api.close_account(account)

    deleted = api.accounts.DeleteCustomer(
        delete_request(customer), timeout=TIMEOUT
    ).customer
    read = api.accounts.GetCustomer(
        acc.GetCustomerRequest(customer_id=customer.customer_id), timeout=TIMEOUT
    ).customer

    assert deleted.status == pb.CUSTOMER_STATUS_DELETED
    assert deleted.version == customer.version + 1
    assert read.status == pb.CUSTOMER_STATUS_DELETED


def test_deleted_customer_cannot_change(api):
    customer = api.customer()
    deleted = api.accounts.DeleteCustomer(
        delete_request(customer), timeout=TIMEOUT
    ).customer

    update = fails(
        api.accounts.UpdateCustomer, update_request(deleted, ["region"], region="X")
    )
    delete = fails(api.accounts.DeleteCustomer, delete_request(deleted))
    open_account = fails(
        api.accounts.OpenAccount,
        acc.OpenAccountRequest(
            request_id=request_id("open"),
            account=pb.Account(
                currency_code="CZK",
                type=pb.ACCOUNT_TYPE_CHECKING,
                holders=[
                    pb.AccountHolder(
                        customer_id=deleted.customer_id, role=pb.HOLDER_ROLE_OWNER
                    )
                ],
            ),
        ),
    )

    for failure in (update, delete, open_account):
        assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
        assert failure.reason == "CUSTOMER_DELETED"


def test_delete_customer_rejects_stale_version(api):
    customer = api.customer()

    failure = fails(
        api.accounts.DeleteCustomer, delete_request(customer, customer.version + 1)
    )

    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "VERSION_MISMATCH"
