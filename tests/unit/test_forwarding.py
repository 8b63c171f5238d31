"""Messages the public services forward to and from the ledger store.

``bank_common.forwarding.forward`` re-reads a message's wire bytes as
another type, which is only correct when both types give each shared field
the same number and type. These tests check every pair the account and
transaction services forward, so a field added or renumbered on one side
fails here instead of being dropped or misread at run time.
"""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank_common.forwarding import forward

# Fields that only the public API has are numbered from here on.
FIRST_PUBLIC_ONLY_NUMBER = 15

# (public message, ledger store message) for every forward() call in
# account_service/servicer.py and transaction_service/servicer.py. Requests
# go from public to ledger, responses from ledger to public.
FORWARDED = [
    (acc.CreateCustomerRequest, store.CreateCustomerRequest),
    (acc.CreateCustomerResponse, store.CreateCustomerResponse),
    (acc.UpdateCustomerRequest, store.UpdateCustomerRequest),
    (acc.UpdateCustomerResponse, store.UpdateCustomerResponse),
    (acc.DeleteCustomerRequest, store.DeleteCustomerRequest),
    (acc.DeleteCustomerResponse, store.DeleteCustomerResponse),
    (acc.GetCustomerRequest, store.GetCustomerRequest),
    (acc.GetCustomerResponse, store.GetCustomerResponse),
    (acc.ListCustomersRequest, store.ListCustomersRequest),
    (acc.ListCustomersResponse, store.ListCustomersResponse),
    (acc.OpenAccountRequest, store.OpenAccountRequest),
    (acc.OpenAccountResponse, store.OpenAccountResponse),
    (acc.UpdateAccountRequest, store.UpdateAccountRequest),
    (acc.UpdateAccountResponse, store.UpdateAccountResponse),
    (acc.CloseAccountRequest, store.CloseAccountRequest),
    (acc.CloseAccountResponse, store.CloseAccountResponse),
    (acc.GetAccountRequest, store.GetAccountRequest),
    (acc.GetAccountResponse, store.GetAccountResponse),
    (acc.ListAccountsRequest, store.ListAccountsRequest),
    (acc.ListAccountsResponse, store.ListAccountsResponse),
    (txn.DepositResponse, store.PostTransactionResponse),
    (txn.WithdrawResponse, store.PostTransactionResponse),
    (txn.TransferResponse, store.PostTransactionResponse),
    (txn.ImportTransactionResponse, store.PostTransactionResponse),
    (txn.ReverseTransactionRequest, store.ReverseTransactionRequest),
    (txn.ReverseTransactionResponse, store.ReverseTransactionResponse),
    (txn.GetTransactionRequest, store.GetTransactionRequest),
    (txn.GetTransactionResponse, store.GetTransactionResponse),
    (txn.ListStatementRequest, store.ListStatementRequest),
    (txn.ListStatementResponse, store.ListStatementResponse),
]


def pair_id(pair) -> str:
    public, ledger = pair
    return f"{public.DESCRIPTOR.full_name}<->{ledger.DESCRIPTOR.name}"


def field_shape(field: FieldDescriptor) -> tuple:
    """What must match for the wire bytes of one field to mean the same."""
    nested = field.message_type.full_name if field.message_type else None
    enum = field.enum_type.full_name if field.enum_type else None
    return (
        field.number,
        field.type,
        field.is_repeated,
        field.has_presence,
        nested,
        enum,
    )


@pytest.mark.parametrize("pair", FORWARDED, ids=pair_id)
def test_shared_fields_have_same_number_and_type(pair):
    public, ledger = (message.DESCRIPTOR for message in pair)

    for name, field in ledger.fields_by_name.items():
        assert name in public.fields_by_name, (
            f"{ledger.full_name}.{name} is missing from {public.full_name}"
        )
        assert field_shape(public.fields_by_name[name]) == field_shape(field), name


@pytest.mark.parametrize("pair", FORWARDED, ids=pair_id)
def test_public_only_fields_are_numbered_from_15(pair):
    public, ledger = (message.DESCRIPTOR for message in pair)
    ledger_numbers = {field.number for field in ledger.fields}

    for field in public.fields:
        if field.name not in ledger.fields_by_name:
            assert field.number >= FIRST_PUBLIC_ONLY_NUMBER, field.name
            assert field.number not in ledger_numbers, field.name


def same_named_pairs(public_file) -> set[tuple[Descriptor, Descriptor]]:
    ledger_messages = store.DESCRIPTOR.message_types_by_name
    return {
        (message, ledger_messages[name])
        for name, message in public_file.DESCRIPTOR.message_types_by_name.items()
        if name in ledger_messages
    }


def test_every_same_named_message_is_checked():
    checked = {(public.DESCRIPTOR, ledger.DESCRIPTOR) for public, ledger in FORWARDED}

    for public_file in (acc, txn):
        missing = same_named_pairs(public_file) - checked
        assert not missing, sorted(pair[0].full_name for pair in missing)


def test_forward_drops_public_only_fields():
    public = txn.ListStatementRequest(
        account_id=12,
        page_size=50,
        page_token="token",
        start_date="1995-01-01",
        end_date="1995-12-31",
        min_sequence=99,
    )

    ledger = forward(public, store.ListStatementRequest)

    assert ledger == store.ListStatementRequest(
        account_id=12,
        page_size=50,
        page_token="token",
        start_date="1995-01-01",
        end_date="1995-12-31",
    )
    assert forward(ledger, txn.ListStatementRequest).min_sequence == 0


def test_forward_keeps_nested_messages_and_masks():
    public = acc.UpdateAccountRequest(
        request_id="r-1",
        account=pb.Account(
            account_id=5,
            nickname="savings",
            overdraft_limit=pb.Money(currency_code="CZK", minor_units=10_000),
        ),
        update_mask=field_mask_pb2.FieldMask(paths=["nickname", "overdraft_limit"]),
        expected_version=3,
    )

    ledger = forward(public, store.UpdateAccountRequest)

    assert ledger.SerializeToString() == public.SerializeToString()
    assert list(ledger.update_mask.paths) == ["nickname", "overdraft_limit"]
    assert ledger.account.overdraft_limit.minor_units == 10_000
