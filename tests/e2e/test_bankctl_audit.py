"""``bankctl audit`` against real services, on a clean and on a broken ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb
import pytest

from bank_common.stack import LocalStack
from bankctl import cli
from tests.support.bank import Bank

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def audited_stack(tmp_path_factory) -> Iterator[LocalStack]:
    """A stack of its own, because one test breaks its database on purpose."""
    folder = tmp_path_factory.mktemp("audit")
    stack = LocalStack(db_path=folder / "ledger.duckdb", log_dir=folder / "logs")
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
def account_id(audited_stack) -> int:
    bank = Bank.for_stack(audited_stack)
    try:
        source = bank.open_account(overdraft=1_000)
        destination = bank.open_account()
        bank.deposit(source.account_id, 5_000)
        bank.transfer(source.account_id, destination.account_id, 5_500)
        return destination.account_id
    finally:
        bank.close()


@pytest.fixture
def bankctl(audited_stack, capsys):
    """Run a bankctl command; return (exit status, stdout, stderr)."""
    addresses = [
        "--accounts-addr",
        audited_stack.ports.address("accounts"),
        "--transactions-addr",
        audited_stack.ports.address("transactions"),
        "--ledger-addr",
        audited_stack.ports.address("ledger"),
    ]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = cli.main([*addresses, *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_audit_of_clean_ledger_exits_zero(bankctl, account_id):
    status, out, err = bankctl("audit")

    assert status == 0, err
    assert "no violations" in out
    assert "2 transactions" in out


def test_audit_json_lists_no_violations(bankctl, account_id):
    status, out, err = bankctl("--json", "audit")

    assert status == 0, err
    report = json.loads(out)
    assert report.get("violations", []) == []
    assert report["transactions_checked"] == "2"


def test_audit_rejects_bad_max_violations(bankctl, account_id):
    status, _, err = bankctl("audit", "--max-violations", "10001")

    assert status == 1
    assert "INVALID_MAX_VIOLATIONS" in err


def test_audit_negative_max_violations_does_not_parse(bankctl, capsys):
    with pytest.raises(SystemExit) as stop:
        bankctl("audit", "--max-violations", "-1")

    assert stop.value.code == 2
    assert "argument --max-violations: '-1' is not a whole number" in (
        capsys.readouterr().err
    )


def test_audit_of_broken_ledger_exits_one(audited_stack, bankctl, account_id):
    # Stop the ledger store, change a balance behind its back, restart it.
    audited_stack.stop("ledger")
    with duckdb.connect(str(audited_stack.db_path)) as connection:
        connection.execute(
            "UPDATE accounts SET balance = balance + 5 WHERE account_id = ?",
            [account_id],
        )
    audited_stack.start("ledger")

    status, out, _ = bankctl("audit")
    json_status, json_out, _ = bankctl("--json", "audit")

    assert status == 1
    assert "balance_mismatch" in out
    assert "currency_not_balanced" in out
    assert "2 violations found" in out
    assert json_status == 1
    kinds = [v["kind"] for v in json.loads(json_out)["violations"]]
    assert kinds == [
        "AUDIT_VIOLATION_KIND_BALANCE_MISMATCH",
        "AUDIT_VIOLATION_KIND_CURRENCY_NOT_BALANCED",
    ]
