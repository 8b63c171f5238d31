"""The operator tasks of ``bankctl`` against the real services.

Commands run in this process through ``bankctl.cli.main``; the import tests
run the installed console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from bank_common.stack import LocalStack, free_port
from bankctl import cli
from tests.support.bank import Bank

pytestmark = pytest.mark.e2e


@pytest.fixture
def bankctl(stack, capsys):
    """Run a bankctl command; return (exit status, stdout, stderr)."""
    addresses = [
        "--accounts-addr",
        stack.ports.address("accounts"),
        "--transactions-addr",
        stack.ports.address("transactions"),
        "--ledger-addr",
        stack.ports.address("ledger"),
    ]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            status = cli.main([*addresses, *args])
        except SystemExit as stop:
            # argparse exits with 2 on a command line that does not parse.
            status = stop.code
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def _json(bankctl, *args: str) -> dict:
    status, out, err = bankctl("--json", *args)
    assert status == 0, err
    return json.loads(out)


def _new_account(bankctl, *extra: str) -> str:
    customer = _json(bankctl, "customers", "create", "--name", "Jana Novakova")
    account = _json(
        bankctl, "accounts", "open", "--owner", customer["customer_id"], *extra
    )
    return account["account_id"]


def test_customer_create_and_show(bankctl):
    created = _json(
        bankctl,
        "customers",
        "create",
        "--name",
        "Petr Svoboda",
        "--birth-date",
        "1970-12-13",
        "--sex",
        "male",
        "--region",
        "Pisek",
        "--external-ref",
        "cli:customer:1",
    )

    status, out, err = bankctl("customers", "show", "--external-ref", "cli:customer:1")

    assert status == 0, err
    assert created["full_name"] == "Petr Svoboda"
    assert created["sex"] == "SEX_MALE"
    assert "Petr Svoboda" in out
    assert "1970-12-13" in out
    assert "MALE" in out
    assert "Pisek" in out


def test_account_open_show_table(bankctl):
    account_id = _new_account(bankctl, "--overdraft", "500.00", "--nickname", "daily")

    status, out, err = bankctl("accounts", "show", account_id)

    assert status == 0, err
    assert "0.00 CZK" in out
    assert "500.00 CZK" in out
    assert "daily" in out
    assert "(OWNER)" in out


def test_account_show_takes_external_ref(bankctl):
    account_id = _new_account(bankctl, "--external-ref", "cli:account:show")

    by_argument = _json(bankctl, "accounts", "show", "cli:account:show")
    by_option = _json(bankctl, "accounts", "show", "--external-ref", "cli:account:show")
    by_id = _json(bankctl, "accounts", "show", account_id)

    assert by_argument["account_id"] == account_id
    assert by_option["account_id"] == account_id
    assert by_id["external_ref"] == "cli:account:show"


def test_deposit_withdraw_transfer_amounts(bankctl):
    source = _new_account(bankctl)
    destination = _new_account(bankctl)

    deposit = _json(bankctl, "deposit", source, "1234.56", "--description", "cash")
    withdrawal = _json(bankctl, "withdraw", source, "0.06")
    transfer = _json(bankctl, "transfer", source, destination, "200")
    shown = _json(bankctl, "accounts", "show", source)

    assert deposit["amount"] == {"currency_code": "CZK", "minor_units": "123456"}
    assert withdrawal["amount"]["minor_units"] == "6"
    assert transfer["amount"]["minor_units"] == "20000"
    assert shown["balance"]["minor_units"] == "103450"


def test_payment_to_other_bank_keeps_counterparty(bankctl):
    account = _new_account(bankctl)
    _json(bankctl, "deposit", account, "100.00")

    payment = _json(
        bankctl,
        "withdraw",
        account,
        "25.00",
        "--bank-code",
        "EF",
        "--counterparty-account",
        "1222903",
    )

    assert payment["kind"] == "TRANSACTION_KIND_OUTGOING_PAYMENT"
    assert payment["counterparty"] == {"bank_code": "EF", "account_number": "1222903"}


def test_invalid_amount_rejected_before_sending(bankctl):
    account = _new_account(bankctl)

    status, out, err = bankctl("deposit", account, "12.345")

    assert status == 1
    assert out == ""
    assert "12.345" in err
    assert "decimal places" in err


def test_error_prints_reason_and_message(bankctl):
    account = _new_account(bankctl)

    status, out, err = bankctl("withdraw", account, "10.00")

    assert status == 1
    assert out == ""
    assert err.startswith("error: FAILED_PRECONDITION INSUFFICIENT_FUNDS: ")


def test_frozen_account_rejects_postings(bankctl):
    account = _new_account(bankctl)

    frozen = _json(bankctl, "accounts", "freeze", account)
    status, _, err = bankctl("deposit", account, "5.00")
    active = _json(bankctl, "accounts", "unfreeze", account)
    after = _json(bankctl, "deposit", account, "5.00")

    assert frozen["status"] == "ACCOUNT_STATUS_FROZEN"
    assert status == 1
    assert "ACCOUNT_FROZEN" in err
    assert active["status"] == "ACCOUNT_STATUS_ACTIVE"
    assert after["amount"]["minor_units"] == "500"


def test_close_needs_zero_balance(bankctl):
    account = _new_account(bankctl)
    _json(bankctl, "deposit", account, "5.00")

    status, _, err = bankctl("accounts", "close", account)
    _json(bankctl, "withdraw", account, "5.00")
    closed = _json(bankctl, "accounts", "close", account)

    assert status == 1
    assert "NONZERO_BALANCE" in err
    assert closed["status"] == "ACCOUNT_STATUS_CLOSED"


def test_statement_table_and_json(bankctl):
    account = _new_account(bankctl)
    _json(bankctl, "deposit", account, "100.00", "--description", "salary")
    _json(bankctl, "withdraw", account, "30.50")

    status, out, err = bankctl("statement", account)
    lines = _json(bankctl, "statement", account)["lines"]

    assert status == 0, err
    assert "balance 69.50 CZK" in out
    assert "salary" in out
    assert "-30.50 CZK" in out
    assert [line["balance_after"]["minor_units"] for line in lines] == [
        "10000",
        "6950",
    ]


def test_statement_to_closed_pipe_exits_quietly(bankctl, stack):
    account = _new_account(bankctl)
    _json(bankctl, "deposit", account, "5.00")
    addresses = [
        f"--{service}-addr={stack.ports.address(service)}"
        for service in ("accounts", "transactions", "ledger")
    ]
    # The read end is closed before bankctl starts, so its first write to
    # stdout fails with EPIPE, as after `head -1` has read its line and quit.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bankctl", *addresses, "statement", account],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)

    assert result.returncode == cli.EXIT_BROKEN_PIPE
    assert result.stderr == ""


def test_request_id_retry_posts_once(bankctl):
    account = _new_account(bankctl)

    first = _json(bankctl, "deposit", account, "7.00", "--request-id", "cli-retry-1")
    again = _json(bankctl, "deposit", account, "7.00", "--request-id", "cli-retry-1")
    shown = _json(bankctl, "accounts", "show", account)

    assert first["transaction_id"] == again["transaction_id"]
    assert shown["balance"]["minor_units"] == "700"


def test_watch_prints_new_transactions(bankctl, stack):
    account = _new_account(bankctl)
    _json(bankctl, "deposit", account, "1.00")
    client = Bank.for_stack(stack)

    def deposit_soon():
        time.sleep(1.0)
        client.deposit(int(account), 250)

    depositor = threading.Thread(target=deposit_soon)
    depositor.start()
    try:
        status, out, err = bankctl("watch", account, "--count", "1")
    finally:
        depositor.join()
        client.close()

    assert status == 0, err
    assert "DEPOSIT" in out
    assert "2.50 CZK" in out
    assert "balance 3.50 CZK" in out
    assert all(line == line.rstrip() for line in out.splitlines())


def test_watch_names_rerun_when_service_stops(tmp_path):
    own = LocalStack(db_path=tmp_path / "ledger.duckdb", log_dir=tmp_path / "logs")
    own.start_all()
    client = Bank.for_stack(own)
    try:
        account = client.open_account().account_id
        addresses = [
            f"--{service}-addr={own.ports.address(service)}"
            for service in ("accounts", "transactions", "ledger")
        ]
        watch = subprocess.Popen(
            [sys.executable, "-m", "bankctl", *addresses, "watch", str(account)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert watch.stdout.readline().startswith(f"Watching account {account}")
            posted = client.deposit(account, 250).transaction.transaction_id
            assert f"transaction {posted} " in watch.stdout.readline()
            own.stop("transactions")
            out, err = watch.communicate(timeout=60)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate()
    finally:
        client.close()
        own.stop_all()

    assert watch.returncode == 1
    assert out == ""
    assert err.startswith("error: the transaction service ")
    assert f"the last transaction printed was {posted}" in err
    assert "run the same command again to resume watching" in err
    assert f"bankctl statement {account} lists them" in err
    assert "after_sequence" not in err


def test_unreachable_service_fails_cleanly(capsys):
    address = f"127.0.0.1:{free_port()}"

    status = cli.main(["--accounts-addr", address, "accounts", "show", "1"])

    assert status == 1
    assert capsys.readouterr().err.startswith("error: UNAVAILABLE")


HUGE = "99999999999999999999999"


def _minor_units(money: dict) -> int:
    # The proto3 JSON mapping leaves out zero values.
    return int(money.get("minor_units", "0"))


@pytest.mark.parametrize(
    "command",
    [
        ("deposit", "{account}", HUGE),
        ("withdraw", "{account}", HUGE),
        ("transfer", "{account}", "{account}", HUGE),
        ("deposit", "{account}", "-" + HUGE),
    ],
    ids=["deposit", "withdraw", "transfer", "negative"],
)
def test_amount_beyond_int64_rejected_cleanly(bankctl, command):
    account = _new_account(bankctl)

    status, out, err = bankctl(*(part.format(account=account) for part in command))
    shown = _json(bankctl, "accounts", "show", account)

    assert status == 1
    assert out == ""
    assert err.startswith("error: amount: ")
    assert HUGE in err
    assert _minor_units(shown["balance"]) == 0


def test_overdraft_beyond_int64_rejected_cleanly(bankctl):
    customer = _json(bankctl, "customers", "create", "--name", "Eva Dvorakova")

    status, out, err = bankctl(
        "accounts", "open", "--owner", customer["customer_id"], "--overdraft", HUGE
    )

    assert status == 1
    assert out == ""
    assert err.startswith(f"error: --overdraft: {HUGE} CZK is above the ledger's")
    assert "10000000000000.00 CZK (1000000000000000 minor units)" in err


@pytest.mark.parametrize(
    "amount",
    [
        "\N{FULLWIDTH DIGIT ONE}\N{FULLWIDTH DIGIT TWO}",
        "\N{ARABIC-INDIC DIGIT THREE}",
    ],
)
def test_non_ascii_amount_posts_nothing(bankctl, amount):
    account = _new_account(bankctl)

    status, _, err = bankctl("deposit", account, amount)
    shown = _json(bankctl, "accounts", "show", account)

    assert status == 1
    assert "is not a decimal number" in err
    assert _minor_units(shown["balance"]) == 0


@pytest.mark.parametrize(
    "command",
    [
        ("deposit", "\N{SUPERSCRIPT TWO}", "10"),
        ("accounts", "freeze", "\N{SUPERSCRIPT TWO}"),
        ("statement", "\N{SUPERSCRIPT TWO}"),
    ],
    ids=["deposit", "freeze", "statement"],
)
def test_non_ascii_account_is_external_ref(bankctl, command):
    status, out, err = bankctl(*command)

    assert status == 1
    assert out == ""
    assert err.startswith("error: NOT_FOUND ACCOUNT_NOT_FOUND: ")
    assert "\N{SUPERSCRIPT TWO}" in err


@pytest.mark.parametrize(
    ("account", "amount", "status"),
    [
        ("{account}", " 5", 1),
        ("{account}", "5 ", 1),
        ("{account}", "05", 1),
        ("{account} ", "5", 2),
        ("0{account}", "5", 1),
    ],
    ids=[
        "amount-space-before",
        "amount-space-after",
        "amount-zero",
        "id-space",
        "id-zero",
    ],
)
def test_loose_number_posts_nothing(bankctl, account, amount, status):
    account_id = _new_account(bankctl)

    result, out, err = bankctl("deposit", account.format(account=account_id), amount)
    shown = _json(bankctl, "accounts", "show", account_id)

    assert result == status
    assert out == ""
    assert err
    assert _minor_units(shown["balance"]) == 0
