"""bankctl's checks of ids, amounts and options before it sends anything."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bank_common.validation import MAX_AMOUNT
from bankctl import cli
from bankctl.context import MAX_INT64, CommandError, positive_int64, request_id
from bankctl.money import parse_amount

UNREACHABLE = ["--accounts-addr", "127.0.0.1:1", "--transactions-addr", "127.0.0.1:1"]


@pytest.mark.parametrize("text", ["1", "42", "100", str(MAX_INT64)])
def test_id_accepts_positive_int64(text):
    assert positive_int64(text, "account id") == int(text)


@pytest.mark.parametrize(
    "text", ["0", str(MAX_INT64 + 1), "99999999999999999999", "9" * 40]
)
def test_id_out_of_range_names_value_and_limit(text):
    with pytest.raises(CommandError) as failure:
        positive_int64(text, "account id")

    assert f"account id {text} is out of range" in str(failure.value)
    assert str(MAX_INT64) in str(failure.value)


@pytest.mark.parametrize(
    "text",
    [
        "\N{SUPERSCRIPT TWO}",
        "\N{FULLWIDTH DIGIT ONE}\N{FULLWIDTH DIGIT TWO}",
        "\N{ARABIC-INDIC DIGIT THREE}",
        "-1",
        "+1",
        "1_000",
        " 1",
        "1.0",
        "",
    ],
)
def test_id_rejects_anything_but_ascii_digits(text):
    with pytest.raises(CommandError) as failure:
        positive_int64(text, "--owner")

    assert f"--owner {text!r} is not a whole number" in str(failure.value)


@pytest.mark.parametrize(
    ("text", "currency", "minor_units"),
    [
        ("0.01", "CZK", 1),
        ("125.50", "CZK", 12550),
        ("10000000000000", "CZK", MAX_AMOUNT),
        ("1000000000000000", "JPY", MAX_AMOUNT),
        ("1000000000000", "BHD", MAX_AMOUNT),
    ],
)
def test_amount_accepts_up_to_ledger_limit(text, currency, minor_units):
    assert parse_amount(text, currency) == minor_units


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("10000000000000.01", "CZK"),
        ("99999999999999999999999", "CZK"),
        ("1000000000000001", "JPY"),
    ],
)
def test_amount_above_limit_names_value_and_limit(text, currency):
    with pytest.raises(ValueError) as failure:
        parse_amount(text, currency)

    assert f"{text} {currency} is above the ledger's limit" in str(failure.value)
    assert str(MAX_AMOUNT) in str(failure.value)


@pytest.mark.parametrize("text", ["0", "-5", "-99999999999999999999999"])
def test_amount_below_one_minor_unit_rejected(text):
    with pytest.raises(ValueError, match="below the minimum of 0.01 CZK"):
        parse_amount(text, "CZK")


def test_overdraft_minimum_zero_accepts_zero():
    assert parse_amount("0", "CZK", minimum=0) == 0
    with pytest.raises(ValueError, match="below the minimum of 0.00 CZK"):
        parse_amount("-0.01", "CZK", minimum=0)


@pytest.mark.parametrize(
    "text",
    [
        "\N{FULLWIDTH DIGIT ONE}\N{FULLWIDTH DIGIT TWO}",
        "\N{ARABIC-INDIC DIGIT THREE}",
        "1.\N{ARABIC-INDIC DIGIT FIVE}",
        "\N{SUPERSCRIPT TWO}",
    ],
)
def test_amount_rejects_non_ascii_digits(text):
    with pytest.raises(ValueError, match="digits 0-9 only"):
        parse_amount(text, "CZK")


@pytest.mark.parametrize("value", ["0.001", "2.5", "10", "86400"])
def test_timeout_accepts_positive_seconds(value):
    args = cli.build_parser().parse_args(["--timeout", value, "accounts", "show"])

    assert args.timeout == float(value)


@pytest.mark.parametrize(
    "value", ["0", "-1", "1e-9", "0.0009", "86401", "1e10", "inf", "nan", "ten"]
)
def test_timeout_outside_range_rejected_at_parse_time(value, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([*UNREACHABLE, "--timeout", value, "accounts", "show", "1"])

    assert stop.value.code == 2
    assert f"argument --timeout: {value}" in capsys.readouterr().err.replace("'", "")


@pytest.mark.parametrize("value", ["-1", "-100", "1.5", "\N{FULLWIDTH DIGIT THREE}"])
def test_watch_count_rejects_negative_and_fraction(value, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([*UNREACHABLE, "watch", "42", "--count", value])

    assert stop.value.code == 2
    assert f"argument --count: {value!r} is not a count" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "1", "25"])
def test_watch_count_accepts_zero_and_more(value):
    args = cli.build_parser().parse_args(["watch", "42", "--count", value])

    assert args.count == int(value)


@pytest.mark.parametrize(
    "command",
    [
        ["accounts", "show", "99999999999999999999"],
        ["accounts", "show", "0"],
        ["customers", "show", "99999999999999999999"],
        ["accounts", "open", "--owner", "99999999999999999999"],
        ["accounts", "open", "--owner", "1", "--authorized", "99999999999999999999"],
        ["accounts", "freeze", "42", "--expected-version", "99999999999999999999"],
        ["deposit", "99999999999999999999", "10"],
        ["statement", "99999999999999999999"],
    ],
    ids=[
        "accounts-show",
        "accounts-show-zero",
        "customers-show",
        "owner",
        "authorized",
        "expected-version",
        "deposit",
        "statement",
    ],
)
def test_id_out_of_range_fails_before_connecting(command, capsys):
    status = cli.main([*UNREACHABLE, *command])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ")
    assert "is out of range" in err
    assert str(MAX_INT64) in err


ADDRESS_OPTIONS = ["--accounts-addr", "--transactions-addr", "--ledger-addr"]


@pytest.mark.parametrize("option", ADDRESS_OPTIONS)
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("127.0.0.1:99999", "is out of range"),
        ("127.0.0.1:65536", "is out of range"),
        ("127.0.0.1:0", "is out of range"),
        ("127.0.0.1:050052", "is out of range"),
        ("127.0.0.1", "is not HOST:PORT"),
        ("127.0.0.1:", "is not HOST:PORT"),
        (":50052", "is not HOST:PORT"),
        ("127.0.0.1:-1", "is not HOST:PORT"),
        ("127.0.0.1:5005x", "is not HOST:PORT"),
        ("127.0.0.1:\N{FULLWIDTH DIGIT FIVE}", "is not HOST:PORT"),
        ("127.0.0.1 :50052", "is not HOST:PORT"),
        ("::1:50052", "is not HOST:PORT"),
        ("", "is not HOST:PORT"),
    ],
)
def test_address_invalid_rejected_at_parse_time(option, value, reason, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([option, value, "accounts", "show", "1"])

    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert f"argument {option}: " in err
    assert reason in err


@pytest.mark.parametrize(
    "variable", ["ACCOUNTS_ADDR", "TRANSACTIONS_ADDR", "LEDGER_ADDR"]
)
def test_address_invalid_in_environment_rejected(variable, monkeypatch, capsys):
    monkeypatch.setenv(variable, "127.0.0.1:99999")

    with pytest.raises(SystemExit) as stop:
        cli.main(["accounts", "show", "1"])

    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "port 99999 in '127.0.0.1:99999' is out of range" in err
    assert variable in err


@pytest.mark.parametrize(
    "value", ["127.0.0.1:1", "localhost:65535", "[::1]:50052", "bank.example:443"]
)
def test_address_accepts_host_and_port(value):
    args = cli.build_parser().parse_args(["--accounts-addr", value, "audit"])

    assert args.accounts_addr == value


WRITE_COMMANDS = {
    "customers-create": ["customers", "create", "--name", "Jana Novakova"],
    "accounts-open": ["accounts", "open", "--owner", "1"],
    "freeze": ["accounts", "freeze", "42"],
    "unfreeze": ["accounts", "unfreeze", "42"],
    "close": ["accounts", "close", "42"],
    "deposit": ["deposit", "42", "5.00"],
    "withdraw": ["withdraw", "42", "5.00"],
    "transfer": ["transfer", "42", "43", "5.00"],
}


@pytest.mark.parametrize("command", WRITE_COMMANDS.values(), ids=WRITE_COMMANDS)
@pytest.mark.parametrize(
    "value", ["", " ", "two words", "x" * 129, "caf\N{LATIN SMALL LETTER E WITH ACUTE}"]
)
def test_request_id_invalid_fails_before_connecting(command, value, capsys):
    status = cli.main([*UNREACHABLE, *command, "--request-id", value])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"error: --request-id {value!r} is invalid: ")
    assert "leave the option out" in err


@pytest.mark.parametrize("value", ["a", "bankctl-retry-1", "x" * 128, "!~"])
def test_request_id_accepts_printable_ascii(value):
    assert request_id(value, "deposit") == value


def test_request_id_absent_is_new_per_call():
    first = request_id(None, "deposit")
    second = request_id(None, "deposit")

    assert first.startswith("bankctl-deposit-")
    assert first != second


def test_account_show_needs_one_reference(capsys):
    status = cli.main([*UNREACHABLE, "accounts", "show"])

    assert status == 1
    assert capsys.readouterr().err.startswith("error: give the account: its id")


def test_account_show_rejects_both_references(capsys):
    status = cli.main([*UNREACHABLE, "accounts", "show", "42", "--external-ref", "x"])

    assert status == 1
    assert "give either ACCOUNT or --external-ref, not both" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--overdraft", "500.00"]])
def test_unknown_currency_names_currency_option(extra, capsys):
    status = cli.main(
        [*UNREACHABLE, "accounts", "open", "--owner", "1", "--currency", "XXX", *extra]
    )

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: --currency: currency 'XXX' has no known ")
    assert "--overdraft" not in err


@pytest.mark.parametrize(("text", "value"), [("007", 7), ("041", 41), ("0100", 100)])
def test_id_rejects_leading_zero(text, value):
    with pytest.raises(CommandError) as failure:
        positive_int64(text, "account id")

    assert f"account id {text!r} has a leading zero: write it as {value}" in str(
        failure.value
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("05", "5"), ("05.00", "5.00"), ("00.50", "0.50"), ("-007.5", "-7.5")],
)
def test_amount_rejects_leading_zero(text, canonical):
    with pytest.raises(ValueError) as failure:
        parse_amount(text, "CZK", minimum=-(10**6))

    assert f"{text!r} has a leading zero: write it as {canonical}" in str(failure.value)


@pytest.mark.parametrize("text", [" 5", "5 ", "5\t", "\n5", "5 .00", "5. 00", " "])
def test_amount_rejects_spaces(text):
    with pytest.raises(ValueError, match="no spaces"):
        parse_amount(text, "CZK")


@pytest.mark.parametrize(("text", "minor_units"), [("0.50", 50), ("0.05", 5)])
def test_amount_accepts_single_leading_zero(text, minor_units):
    assert parse_amount(text, "CZK") == minor_units


@pytest.mark.parametrize(
    "command",
    [
        ["deposit", "{value}", "5"],
        ["transfer", "42", "{value}", "5"],
        ["accounts", "show", "{value}"],
        ["accounts", "freeze", "{value}"],
        ["statement", "{value}"],
        ["watch", "{value}"],
    ],
    ids=["deposit", "transfer", "show", "freeze", "statement", "watch"],
)
@pytest.mark.parametrize("value", ["41 ", " 41", "berka:2378 ", "\t41", ""])
def test_account_with_spaces_or_empty_rejected(command, value, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([*UNREACHABLE, *(part.format(value=value) for part in command)])

    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "ACCOUNT " in err
    assert ("has spaces around it" in err) or ("is empty" in err)


@pytest.mark.parametrize(
    "command",
    [
        ["deposit", "041", "5"],
        ["accounts", "show", "041"],
        ["accounts", "close", "041"],
        ["statement", "041"],
        ["customers", "show", "041"],
        ["accounts", "open", "--owner", "041"],
        ["accounts", "freeze", "41", "--expected-version", "03"],
    ],
    ids=["deposit", "show", "close", "statement", "customer", "owner", "version"],
)
def test_leading_zero_id_fails_before_connecting(command, capsys):
    status = cli.main([*UNREACHABLE, *command])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ")
    assert "has a leading zero: write it as " in err


@pytest.mark.parametrize(
    "option",
    [
        ["audit", "--max-violations"],
        ["import", "berka", "data/berka", "--workers"],
        ["watch", "42", "--count"],
    ],
    ids=["max-violations", "workers", "count"],
)
@pytest.mark.parametrize(
    "value", [" 4", "4 ", "04", "+4", "4.0", "1_0", "\N{ARABIC-INDIC DIGIT THREE}"]
)
def test_count_options_reject_loose_numbers(option, value, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([*UNREACHABLE, *option, value])

    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert f"argument {option[-1]}: {value!r} is not a " in err


@pytest.mark.parametrize("command", ["deposit", "withdraw"])
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--bank-code", ""], "--bank-code is empty"),
        (["--bank-code", "", "--counterparty-account", ""], "--bank-code is empty"),
        (["--bank-code", "0800", "--counterparty-account", ""], "account is empty"),
        (["--bank-code", " ", "--counterparty-account", "1"], "--bank-code is empty"),
        (["--bank-code", "0800"], "--bank-code needs --counterparty-account"),
        (["--counterparty-account", "19-2000145399"], "account needs --bank-code"),
        (["--counterparty-account", ""], "--counterparty-account is empty"),
    ],
    ids=[
        "empty-code",
        "both-empty",
        "empty-account",
        "blank-code",
        "code-alone",
        "account-alone",
        "empty-account-alone",
    ],
)
def test_counterparty_options_checked_before_connecting(
    command, options, expected, capsys
):
    status = cli.main([*UNREACHABLE, command, "42", "5.00", *options])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: --")
    assert expected in err


@pytest.fixture
def silent_address() -> Iterator[str]:
    """A loopback port that accepts connections and never replies."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize(
    "command",
    [["audit"], ["customers", "create", "--name", "Jana Novakova"]],
    ids=["read", "write"],
)
def test_deadline_exceeded_advises_timeout(command, silent_address, capsys):
    addresses = [
        f"--{service}-addr={silent_address}"
        for service in ("accounts", "transactions", "ledger")
    ]

    status = cli.main([*addresses, "--timeout", "0.2", *command])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: DEADLINE_EXCEEDED")
    assert "No reply came within --timeout 0.2 s: raise --timeout" in err
