"""Field checks of customer requests, made before a request reaches the writer."""

import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common.errors import InvalidArgument
from db_service.commands.customers import CreateCustomer


def create(**fields) -> CreateCustomer:
    return CreateCustomer(
        store.CreateCustomerRequest(
            request_id="c-1", customer=pb.Customer(full_name="Jana", **fields)
        )
    )


@pytest.mark.parametrize("email", ["@", "a@", "a@b", "a b@example.com", "a@@b.cz"])
def test_email_rejects_incomplete_addresses(email):
    with pytest.raises(InvalidArgument) as failure:
        create(email=email)

    assert failure.value.reason == "INVALID_EMAIL"


def test_email_accepts_usual_addresses():
    assert create(email="jana.novakova@example.cz").email == "jana.novakova@example.cz"


@pytest.mark.parametrize(
    "phone", ["abc", "+", "-420", "12 34 x", "+420+1", "+ 420", "()"]
)
def test_phone_rejects_non_numbers(phone):
    with pytest.raises(InvalidArgument) as failure:
        create(phone=phone)

    assert failure.value.reason == "INVALID_PHONE"


@pytest.mark.parametrize(
    "phone", ["+420 600 123 456", "600123456", "(02) 2412-3456", "+1 555.010/99"]
)
def test_phone_accepts_usual_numbers(phone):
    assert create(phone=phone).phone == phone


def test_birth_date_in_the_future_is_rejected():
    with pytest.raises(InvalidArgument) as failure:
        create(birth_date="2999-01-01")

    assert failure.value.reason == "INVALID_DATE"
    assert failure.value.field == "customer.birth_date"
