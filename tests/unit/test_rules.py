"""Ledger rules in db_service.domain.rules, on in-memory account records."""

import dataclasses

import pytest

from bank_common import errors
from bank_common.validation import MAX_BALANCE
from db_service import convert
from db_service.domain import rules
from db_service.domain.model import AccountRecord


def account(**changes) -> AccountRecord:
    record = AccountRecord(
        account_id=7,
        currency_code="CZK",
        account_type="CHECKING",
        status="ACTIVE",
        nickname=None,
        overdraft_limit=1_000,
        balance=500,
        version=3,
        external_ref=None,
        opened_us=0,
        closed_us=None,
        updated_us=0,
        last_activity_us=None,
        change_seq=1,
        holders=((1, "OWNER"),),
    )
    return dataclasses.replace(record, **changes)


def bank_account(**changes) -> AccountRecord:
    return account(account_type="INTERNAL", overdraft_limit=None, holders=(), **changes)


def test_bank_side_covers_every_single_account_kind():
    assert set(rules.BANK_SIDE) == set(convert.KIND) - {"TRANSFER", "REVERSAL"}


@pytest.mark.parametrize(
    ("kind", "direction", "purpose"),
    [
        ("DEPOSIT", rules.CREDIT, "CASH"),
        ("WITHDRAWAL", rules.DEBIT, "CASH"),
        ("INCOMING_PAYMENT", rules.CREDIT, "CLEARING"),
        ("OUTGOING_PAYMENT", rules.DEBIT, "CLEARING"),
        ("INTEREST", rules.CREDIT, "INTEREST"),
        ("FEE", rules.DEBIT, "FEES"),
    ],
)
def test_bank_side_direction_and_purpose(kind, direction, purpose):
    assert rules.BANK_SIDE[kind] == (direction, purpose)


def test_funds_allow_debit_down_to_minus_limit():
    rules.check_funds(account(balance=500, overdraft_limit=1_000), -1_500)


def test_funds_reject_debit_one_below_limit():
    with pytest.raises(errors.InsufficientFunds) as failure:
        rules.check_funds(account(balance=500, overdraft_limit=1_000), -1_501)

    error = failure.value
    assert error.metadata["available"] == "1500"
    assert error.metadata["requested"] == "1501"
    assert error.metadata["balance"] == "500"
    assert error.metadata["overdraft_limit"] == "1000"
    assert "1500 minor units available" in error.message


def test_funds_with_zero_limit_reject_any_overdraft():
    with pytest.raises(errors.InsufficientFunds):
        rules.check_funds(account(balance=0, overdraft_limit=0), -1)


def test_funds_ignore_credits_even_when_overdrawn():
    rules.check_funds(account(balance=-5_000, overdraft_limit=1_000), 1)


def test_funds_reject_debit_of_account_already_beyond_limit():
    with pytest.raises(errors.InsufficientFunds) as failure:
        rules.check_funds(account(balance=-5_000, overdraft_limit=1_000), -1)

    assert failure.value.metadata["available"] == "-4000"


def test_funds_do_not_limit_bank_accounts():
    rules.check_funds(bank_account(balance=-(10**17)), -(10**15))


def test_balance_range_allows_exact_limit_either_way():
    rules.check_balance_range(account(balance=MAX_BALANCE - 10), 10)
    rules.check_balance_range(bank_account(balance=-MAX_BALANCE + 10), -10)


@pytest.mark.parametrize(("balance", "delta"), [(MAX_BALANCE, 1), (-MAX_BALANCE, -1)])
def test_balance_range_rejects_beyond_limit(balance, delta):
    with pytest.raises(errors.BalanceOutOfRange) as failure:
        rules.check_balance_range(bank_account(balance=balance), delta)

    assert failure.value.metadata["max_abs_balance"] == str(MAX_BALANCE)


def test_customer_account_rule_rejects_bank_account():
    with pytest.raises(errors.FailedPrecondition) as failure:
        rules.check_customer_account(bank_account(), "destination")

    assert failure.value.reason == "INTERNAL_ACCOUNT"
    assert failure.value.message.startswith("destination account 7 ")


def test_customer_account_rule_accepts_checking_and_savings():
    rules.check_customer_account(account(account_type="CHECKING"))
    rules.check_customer_account(account(account_type="SAVINGS"))


def test_postable_rejects_frozen_with_role_in_message():
    with pytest.raises(errors.AccountFrozen) as failure:
        rules.check_postable(account(status="FROZEN"), "source")

    assert failure.value.message.startswith("source account 7 is frozen")
    assert "UpdateAccount" in failure.value.message


def test_postable_rejects_closed():
    with pytest.raises(errors.AccountClosed):
        rules.check_postable(account(status="CLOSED", balance=0, closed_us=1))


def test_postable_accepts_active():
    rules.check_postable(account(status="ACTIVE"))


def test_currency_rule_names_both_currencies():
    with pytest.raises(errors.CurrencyMismatch) as failure:
        rules.check_currency(account(), "EUR", "amount.currency_code")

    assert failure.value.metadata == {
        "account_id": "7",
        "account_currency": "CZK",
        "request_currency": "EUR",
    }
    assert "send the amount in CZK" in failure.value.message


def test_transfer_currencies_names_both_accounts():
    source = account(account_id=3, currency_code="CZK")
    destination = account(account_id=9, currency_code="JPY")

    with pytest.raises(errors.CurrencyMismatch) as failure:
        rules.check_transfer_currencies(source, destination)

    assert "source account 3 is in CZK" in failure.value.message
    assert "destination account 9 is in JPY" in failure.value.message
    assert "send the amount in" not in failure.value.message
    assert failure.value.metadata["source_currency"] == "CZK"
    assert failure.value.metadata["account_currency"] == "JPY"


def test_transfer_currencies_accepts_one_currency():
    rules.check_transfer_currencies(account(account_id=3), account(account_id=9))


def test_currency_rule_accepts_same_currency():
    rules.check_currency(account(), "CZK", "amount.currency_code")


def test_closable_accepts_zero_balance():
    rules.check_closable(account(balance=0))


@pytest.mark.parametrize("balance", [1, -1])
def test_closable_rejects_nonzero_balance(balance):
    with pytest.raises(errors.NonzeroBalance) as failure:
        rules.check_closable(account(balance=balance))

    assert failure.value.metadata["balance"] == str(balance)


def test_closable_rejects_closed_account():
    with pytest.raises(errors.AccountClosed):
        rules.check_closable(account(status="CLOSED", balance=0, closed_us=1))


def test_version_rule_accepts_current_version():
    rules.check_version("account", 7, 3, 3)


def test_version_rule_rejects_other_version():
    with pytest.raises(errors.VersionMismatch) as failure:
        rules.check_version("account", 7, 4, 3)

    assert failure.value.metadata == {
        "entity_id": "7",
        "current_version": "4",
        "expected_version": "3",
    }
