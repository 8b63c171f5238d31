"""Parsing of Berka rows: birth numbers, dates, amounts, kinds and bad rows."""

from __future__ import annotations

import datetime as dt

import pytest

from bankctl.berka import records
from bankctl.money import format_amount, parse_amount, to_minor_units

TRANS_HEADER = (
    '"trans_id";"account_id";"date";"type";"operation";"amount";"balance";'
    '"k_symbol";"bank";"account"'
)


@pytest.mark.parametrize(
    ("birth_number", "born", "sex"),
    [
        ("706213", dt.date(1970, 12, 13), "FEMALE"),
        ("450204", dt.date(1945, 2, 4), "MALE"),
        ("115101", dt.date(1911, 1, 1), "FEMALE"),
        ("871231", dt.date(1987, 12, 31), "MALE"),
    ],
)
def test_birth_number_decodes_date_and_sex(birth_number, born, sex):
    assert records.parse_birth_number(birth_number) == (born, sex)


@pytest.mark.parametrize("bad", ["706313", "701301", "70621", "7062131", "70a213", ""])
def test_birth_number_rejects_invalid(bad):
    with pytest.raises(ValueError, match="birth_number"):
        records.parse_birth_number(bad)


@pytest.mark.parametrize(
    ("text", "haler"),
    [
        ("2452.00", 245200),
        ("0.10", 10),
        ("0.1", 10),
        ("7", 700),
        ("-3.50", -350),
        ("88602.90", 8860290),
        ("123456789012.34", 12345678901234),
    ],
)
def test_czk_amount_is_exact_haler(text, haler):
    assert records.parse_czk(text, "amount") == haler


def test_amount_parsing_avoids_float_rounding():
    # 0.29 * 100 is 28.999999999999996 in binary floating point.
    assert to_minor_units("0.29", 2) == 29
    assert to_minor_units("1.15", 2) == 115


@pytest.mark.parametrize("bad", ["abc", "12,50", "1.234", "1e3", "", " . ", "1.2.3"])
def test_czk_amount_rejects_invalid(bad):
    with pytest.raises(ValueError, match="amount"):
        records.parse_czk(bad, "amount")


def test_amount_formats_from_minor_units():
    assert format_amount(245200, "CZK") == "2452.00 CZK"
    assert format_amount(-5, "CZK") == "-0.05 CZK"
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert format_amount(1, "BHD") == "0.001 BHD"
    assert parse_amount("12.5", "EUR") == 1250


def test_date_parses_yymmdd_in_1900s():
    assert records.parse_date("930101", "date") == dt.date(1993, 1, 1)


@pytest.mark.parametrize("bad", ["930231", "931301", "93011", "1993-01-01", "abcdef"])
def test_date_rejects_invalid(bad):
    with pytest.raises(ValueError, match="YYMMDD"):
        records.parse_date(bad, "date")


@pytest.mark.parametrize(
    ("type_", "operation", "k_symbol", "kind"),
    [
        ("PRIJEM", "VKLAD", "", "DEPOSIT"),
        ("PRIJEM", "", "UROK", "INTEREST"),
        ("PRIJEM", "PREVOD Z UCTU", "DUCHOD", "INCOMING_PAYMENT"),
        ("VYDAJ", "VYBER", "SLUZBY", "FEE"),
        ("VYDAJ", "", "SANKC. UROK", "FEE"),
        ("VYDAJ", "VYBER", "", "WITHDRAWAL"),
        ("VYBER", "VYBER", "", "WITHDRAWAL"),
        ("VYDAJ", "VYBER KARTOU", "", "WITHDRAWAL"),
        ("VYDAJ", "PREVOD NA UCET", "SIPO", "OUTGOING_PAYMENT"),
    ],
)
def test_transaction_kind_mapping(type_, operation, k_symbol, kind):
    assert records.transaction_kind(type_, operation, k_symbol) == kind


@pytest.mark.parametrize(
    ("type_", "operation", "k_symbol"),
    [
        ("PRIJEM", "", "SLUZBY"),
        ("PRIJEM", "VYBER", ""),
        ("VYDAJ", "VKLAD", ""),
        ("XYZ", "VKLAD", ""),
    ],
)
def test_transaction_kind_rejects_unknown(type_, operation, k_symbol):
    with pytest.raises(ValueError, match="not a known kind"):
        records.transaction_kind(type_, operation, k_symbol)


def _write_trans(folder, *rows: str) -> None:
    (folder / "trans.asc").write_text("\n".join([TRANS_HEADER, *rows]) + "\n")


def test_trans_row_keeps_purpose_and_counterparty(tmp_path):
    _write_trans(
        tmp_path,
        '1;10;930105;"VYDAJ";"PREVOD NA UCET";2452.00;100.00;"SIPO ";"YZ";"87144583"',
        '2;10;930106;"VYDAJ";"VYBER";100.00;0.00;" ";"";"0"',
    )

    rows, errors = records.read(tmp_path, records.TRANSACTIONS)

    assert errors == []
    payment, withdrawal = rows
    assert payment.kind == "OUTGOING_PAYMENT"
    assert payment.amount == 245200
    assert payment.k_symbol == "SIPO"
    assert (payment.bank, payment.account) == ("YZ", "87144583")
    assert withdrawal.k_symbol == ""
    assert (withdrawal.bank, withdrawal.account) == ("", "")


def test_bad_rows_name_line_and_reason(tmp_path):
    _write_trans(
        tmp_path,
        '1;10;930105;"PRIJEM";"VKLAD";100.00;100.00;"";;',
        '2;10;930231;"PRIJEM";"VKLAD";100.00;200.00;"";;',
        '3;10;930105;"PRIJEM";"VKLAD";abc;300.00;"";;',
        '4;10;930105;"PRIJEM";"VKLAD";100.00;400.00;""',
        '5;10;930105;"PRIJEM";"PREVOD Z UCTU";100.00;500.00;"";;',
        '6;10;930105;"PRIJEM";"VKLAD;100.00;600.00;"";;',
    )

    rows, errors = records.read(tmp_path, records.TRANSACTIONS)

    assert [row.trans_id for row in rows] == [1]
    assert [(error.file, error.line) for error in errors] == [
        ("trans.asc", 3),
        ("trans.asc", 4),
        ("trans.asc", 5),
        ("trans.asc", 6),
        ("trans.asc", 7),
    ]
    assert "'930231' is not a date" in errors[0].reason
    assert "'abc' is not a decimal number" in errors[1].reason
    assert "has 8 columns, expected 10" in errors[2].reason
    assert "without the other bank's code" in errors[3].reason
    assert errors[4].reason.startswith("unbalanced quote: ")
    assert str(errors[4]).startswith("trans.asc:7: unbalanced quote: ")
    assert errors[0].account_id == 10
    assert str(errors[1]).startswith("trans.asc:4: amount: ")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ('1;10;930105;"PRIJEM";"VKLAD;100.00;100.00;"";;', "unbalanced quote"),
        ('1;10;930105;"PRIJEM";"VKLAD;100.00;100.00;;;', "unbalanced quote"),
        ('1;10;930105;"PRIJEM";"VKLAD"x;100.00;100.00;"";;', "misplaced quote"),
    ],
    ids=["closed-by-later-quote", "never-closed", "text-after-quote"],
)
def test_quote_errors_name_line_and_reason(tmp_path, row, reason):
    _write_trans(tmp_path, row)

    rows, errors = records.read(tmp_path, records.TRANSACTIONS)

    assert rows == []
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"trans.asc:2: {reason}: ")
    assert "expected after" not in errors[0].reason
    assert "unexpected end of data" not in errors[0].reason
    assert errors[0].account_id == 10


def test_wrong_header_rejects_whole_file(tmp_path):
    (tmp_path / "trans.asc").write_text('"trans_id";"account_id"\n1;2\n')

    with pytest.raises(records.SourceFileError, match="header"):
        records.read(tmp_path, records.TRANSACTIONS)


def test_missing_file_rejects_import(tmp_path):
    with pytest.raises(records.SourceFileError, match="not found"):
        records.read(tmp_path, records.CLIENTS)


def test_amounts_beyond_ledger_limits_are_bad_rows(tmp_path):
    _write_trans(
        tmp_path,
        '1;10;930105;"PRIJEM";"VKLAD";10000000000000.00;10000000000000.00;"";;',
        '2;10;930105;"PRIJEM";"VKLAD";10000000000000.01;1.00;"";;',
        '3;10;930105;"PRIJEM";"VKLAD";1.00;99999999999999999999999.00;"";;',
        '4;10;930105;"VYDAJ";"VYBER";1.00;-10000000000000000.01;"";;',
    )

    rows, errors = records.read(tmp_path, records.TRANSACTIONS)

    assert [row.trans_id for row in rows] == [1]
    assert [error.line for error in errors] == [3, 4, 5]
    assert errors[0].reason == (
        "amount 10000000000000.01 is above the ledger's limit of "
        "10000000000000.00 CZK per posting"
    )
    assert "balance 99999999999999999999999.00 is beyond" in errors[1].reason
    assert "balance -10000000000000000.01 is beyond" in errors[2].reason
    assert "10000000000000000.00 CZK either side of zero" in errors[2].reason
