"""Commands that create, change and delete customers."""

from __future__ import annotations

import dataclasses
import re

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors, validation
from db_service import convert
from db_service.batch import Batch
from db_service.commands.base import Command, external_ref
from db_service.domain import rules
from db_service.domain.model import ACTIVE, DELETED, CustomerRecord

UPDATABLE_FIELDS = ("full_name", "email", "phone", "region")
# A local part, "@", and a domain with at least one dot; no spaces.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# An optional "+", then digits with the separators people write in numbers;
# a lookahead requires at least one digit.
_PHONE = re.compile(r"\+?(?=.*[0-9])[0-9(][0-9 ()./-]*")


def _full_name(value: str) -> str:
    return validation.text(value, "customer.full_name", 200, required=True)


def _email(value: str) -> str | None:
    email = validation.text(value, "customer.email", 254)
    if email is not None and not _EMAIL.fullmatch(email):
        raise errors.InvalidArgument(
            "customer.email is not an e-mail address: use the form name@example.com",
            field="customer.email",
            reason="INVALID_EMAIL",
        )
    return email


def _phone(value: str) -> str | None:
    phone = validation.text(value, "customer.phone", 32)
    if phone is not None and not _PHONE.fullmatch(phone):
        raise errors.InvalidArgument(
            "customer.phone is not a phone number: use digits with an optional "
            "leading + and spaces, dots, dashes, slashes or parentheses, such as "
            "+420 600 123 456",
            field="customer.phone",
            reason="INVALID_PHONE",
        )
    return phone


def _region(value: str) -> str | None:
    return validation.text(value, "customer.region", 100)


_FIELD_CHECKS = {
    "full_name": _full_name,
    "email": _email,
    "phone": _phone,
    "region": _region,
}


def _sex(value: int) -> str | None:
    if value == pb.SEX_UNSPECIFIED:
        return None
    if value not in convert.SEX_NAME:
        raise errors.InvalidArgument(
            f"customer.sex {value} is not a known value: use SEX_FEMALE, SEX_MALE or "
            "leave "
            "it unset",
            field="customer.sex",
            reason="INVALID_ENUM",
        )
    return convert.SEX_NAME[value]


class CreateCustomer(Command):
    method = "CreateCustomer"
    response_type = store.CreateCustomerResponse

    def __init__(self, request: store.CreateCustomerRequest):
        super().__init__(request)
        customer = request.customer
        self.full_name = _full_name(customer.full_name)
        self.email = _email(customer.email)
        self.phone = _phone(customer.phone)
        self.birth_date = validation.past_date(
            customer.birth_date, "customer.birth_date"
        )
        self.sex = _sex(customer.sex)
        self.region = _region(customer.region)
        self.external_ref = external_ref(customer.external_ref, "customer.external_ref")

    def external_refs(self) -> dict[str, str]:
        return {"customer": self.external_ref} if self.external_ref else {}

    def execute(self, batch: Batch) -> store.CreateCustomerResponse:
        if self.external_ref and batch.external_ref_taken(
            "customer", self.external_ref
        ):
            raise errors.ExternalRefTaken(
                f"customer.external_ref {self.external_ref!r} is already used by "
                "another "
                "customer: look that customer up with GetCustomer, or use another "
                "reference",
                external_ref=self.external_ref,
            )
        record = CustomerRecord(
            customer_id=batch.new_customer_id(),
            full_name=self.full_name,
            email=self.email,
            phone=self.phone,
            birth_date=self.birth_date,
            sex=self.sex,
            region=self.region,
            status=ACTIVE,
            version=1,
            external_ref=self.external_ref,
            created_us=batch.now_us,
            updated_us=batch.now_us,
            change_seq=0,
        )
        record = batch.stage_customer(record, "CREATED", created=True)
        return store.CreateCustomerResponse(
            customer=convert.customer_message(record), commit_sequence=batch.last_seq
        )


def _live_customer(batch: Batch, customer_id: int) -> CustomerRecord:
    record = batch.customer(customer_id, "customer_id")
    if record.status == DELETED:
        raise errors.CustomerDeleted(
            f"customer {customer_id} is deleted and can no longer change: "
            "create a new customer if the person returns",
            customer_id=customer_id,
        )
    return record


class UpdateCustomer(Command):
    method = "UpdateCustomer"
    response_type = store.UpdateCustomerResponse

    def __init__(self, request: store.UpdateCustomerRequest):
        super().__init__(request)
        self.customer_id = validation.positive_id(
            request.customer.customer_id, "customer.customer_id", "customer"
        )
        self.expected_version = validation.version(request.expected_version)
        paths = list(request.update_mask.paths)
        check_mask(paths, UPDATABLE_FIELDS, "customer")
        self.changes = {
            path: _FIELD_CHECKS[path](getattr(request.customer, path)) for path in paths
        }

    def execute(self, batch: Batch) -> store.UpdateCustomerResponse:
        current = _live_customer(batch, self.customer_id)
        rules.check_version(
            "customer", self.customer_id, current.version, self.expected_version
        )
        record = dataclasses.replace(
            current,
            **self.changes,
            version=current.version + 1,
            updated_us=batch.now_us,
        )
        record = batch.stage_customer(record, "UPDATED")
        return store.UpdateCustomerResponse(
            customer=convert.customer_message(record), commit_sequence=batch.last_seq
        )


class DeleteCustomer(Command):
    method = "DeleteCustomer"
    response_type = store.DeleteCustomerResponse

    def __init__(self, request: store.DeleteCustomerRequest):
        super().__init__(request)
        self.customer_id = validation.positive_id(
            request.customer_id, "customer_id", "customer"
        )
        self.expected_version = validation.version(request.expected_version)

    def execute(self, batch: Batch) -> store.DeleteCustomerResponse:
        current = _live_customer(batch, self.customer_id)
        rules.check_version(
            "customer", self.customer_id, current.version, self.expected_version
        )
        open_ids = batch.open_account_ids(self.customer_id)
        if open_ids:
            shown = ", ".join(str(i) for i in open_ids[:10])
            raise errors.CustomerHasOpenAccounts(
                f"customer {self.customer_id} still holds {len(open_ids)} open "
                "account(s) "
                f"({shown}): close them with CloseAccount first",
                customer_id=self.customer_id,
                open_account_ids=shown,
            )
        record = dataclasses.replace(
            current,
            status=DELETED,
            version=current.version + 1,
            updated_us=batch.now_us,
        )
        record = batch.stage_customer(record, "DELETED")
        return store.DeleteCustomerResponse(
            customer=convert.customer_message(record), commit_sequence=batch.last_seq
        )


def check_mask(paths: list[str], allowed: tuple[str, ...], resource: str) -> None:
    """Reject an empty mask, unknown paths and repeated paths."""
    if not paths:
        raise errors.InvalidArgument(
            "update_mask is empty: name the fields to change, from "
            f"{', '.join(allowed)}",
            field="update_mask",
            reason="INVALID_FIELD_MASK",
        )
    for path in paths:
        if path not in allowed:
            raise errors.InvalidArgument(
                f"update_mask path {validation.clip(path)!r} cannot be updated on "
                f"{resource}s: use {', '.join(allowed)}",
                field="update_mask",
                reason="INVALID_FIELD_MASK",
            )
    if len(set(paths)) != len(paths):
        raise errors.InvalidArgument(
            "update_mask names a field twice: list each field once",
            field="update_mask",
            reason="INVALID_FIELD_MASK",
        )
