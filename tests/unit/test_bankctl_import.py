"""Where ``bankctl import berka`` writes its reconciliation report.

``--dry-run`` checks the files and writes the report without calling any
service, so these tests need no running stack.
"""

from __future__ import annotations

import codecs
import json
import subprocess
from pathlib import Path

import pytest

from bank_common import validation
from bank_common.validation import REQUEST_ID_MAX
from bankctl import cli
from bankctl.berka.loader import MAX_PREFIX, References
from bankctl.importing import DEFAULT_REPORT
from tests.support.berka import REPO, slice_of_real_data, write_folder

UNREACHABLE = ["--accounts-addr", "127.0.0.1:1", "--ledger-addr", "127.0.0.1:1"]


def _small_folder(folder: Path) -> Path:
    return write_folder(
        folder,
        clients=['1;"706213";1'],
        accounts=['10;1;"POPLATEK MESICNE";930101'],
        dispositions=['1;1;10;"OWNER"'],
        trans=[
            '1;10;930101;"PRIJEM";"VKLAD";100.00;100.00;"";;',
            '2;10;930131;"PRIJEM";"";0.33;100.30;"UROK";;',
        ],
    )


def test_default_report_is_under_data():
    assert DEFAULT_REPORT.parts[0] == "data"


def test_default_report_is_ignored_by_git():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")

    done = subprocess.run(
        ["git", "check-ignore", "--quiet", str(DEFAULT_REPORT)], cwd=REPO
    )

    assert done.returncode == 0, f"git does not ignore {DEFAULT_REPORT}"


def test_backups_folder_is_ignored_by_git():
    """The operator guide copies the database into backups/ at the root."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")

    done = subprocess.run(
        ["git", "check-ignore", "--quiet", "backups/ledger-20260101-000000.duckdb"],
        cwd=REPO,
    )

    assert done.returncode == 0, "git does not ignore backups/"


def test_dry_run_writes_default_report_under_data(tmp_path, monkeypatch, capsys):
    folder = _small_folder(tmp_path / "berka")
    monkeypatch.chdir(tmp_path)

    status = cli.main([*UNREACHABLE, "import", "berka", str(folder), "--dry-run"])

    out = capsys.readouterr().out
    assert status == 0
    assert "1 row reconciled" in out
    assert (tmp_path / DEFAULT_REPORT).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["berka", "data"]


def test_report_option_chooses_path(tmp_path, capsys):
    folder = _small_folder(tmp_path / "berka")
    report = tmp_path / "new" / "folder" / "report.csv"

    status = cli.main(
        [
            *UNREACHABLE,
            "import",
            "berka",
            str(folder),
            "--dry-run",
            "--report",
            str(report),
        ]
    )

    assert status == 0, capsys.readouterr().err
    assert report.read_text().splitlines()[1].startswith("trans.asc,3,2,10,")


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("", "the prefix is empty"),
        ("a b", "the prefix 'a b' is invalid"),
        ("berka\t2", "is invalid"),
        ("b\u00e9rka", "is invalid"),
        ("x" * (MAX_PREFIX + 1), f"shorten it to at most {MAX_PREFIX}"),
    ],
    ids=["empty", "space", "tab", "non-ascii", "too-long"],
)
def test_bad_ref_prefix_fails_at_parse(tmp_path, capsys, prefix, reason):
    folder = _small_folder(tmp_path / "berka")
    report = tmp_path / "report.csv"
    command = ["import", "berka", str(folder), "--dry-run", "--report", str(report)]

    with pytest.raises(SystemExit) as stop:
        cli.main([*UNREACHABLE, *command, "--ref-prefix", prefix])

    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "argument --ref-prefix: " in err
    assert reason in err
    assert not report.exists()


def test_longest_ref_prefix_fits_request_ids():
    refs = References("x" * MAX_PREFIX)
    largest_id = 2**63 - 1
    longest = refs.request("customer", largest_id)

    assert validation.request_id(longest) == longest
    assert len(longest) == REQUEST_ID_MAX
    assert len(refs.request("account", largest_id)) < REQUEST_ID_MAX
    assert len(refs.external(largest_id)) < REQUEST_ID_MAX


def test_unwritable_report_fails_cleanly(tmp_path, capsys):
    folder = _small_folder(tmp_path / "berka")
    (tmp_path / "plain-file").write_text("")
    report = tmp_path / "plain-file" / "report.csv"

    status = cli.main(
        [
            *UNREACHABLE,
            "import",
            "berka",
            str(folder),
            "--dry-run",
            "--report",
            str(report),
        ]
    )

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"error: cannot write the reconciliation report {report}")
    assert "--report" in err


def _dry_run(folder: Path, tmp_path: Path, capsys) -> tuple[int, dict, list[str]]:
    """Run a dry run; return the exit status, the JSON summary and the errors."""
    status = cli.main(
        [
            *UNREACHABLE,
            "--json",
            "import",
            "berka",
            str(folder),
            "--dry-run",
            "--report",
            str(tmp_path / "report.csv"),
        ]
    )
    captured = capsys.readouterr()
    return status, json.loads(captured.out), captured.err.splitlines()


def _replace_column(path: Path, first_column: str, column: int, value: str) -> int:
    """Set one column of the row whose first column matches; return its line."""
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split(";")
        if fields[0] == first_column:
            fields[column] = value
            lines[number - 1] = ";".join(fields)
            path.write_text("\n".join(lines) + "\n")
            return number
    raise AssertionError(f"no row starts with {first_column} in {path}")


def test_bad_account_row_names_rows_it_holds(tmp_path, capsys):
    folder = slice_of_real_data(tmp_path / "berka", [576, 2378])
    line = _replace_column(folder / "account.asc", "576", 3, "931301")
    trans_rows = [
        row for row in (folder / "trans.asc").read_text().splitlines() if ";576;" in row
    ]

    status, summary, errors = _dry_run(folder, tmp_path, capsys)

    assert status == 1
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: {folder / 'account.asc'}:{line}: date ")
    assert (
        "account 576 is held back until this line is fixed, and so are its rows: "
        f"2 in disp.asc and {len(trans_rows)} in trans.asc" in errors[0]
    )
    assert summary["errors"] == 1
    assert summary["accounts"] == 1
    assert summary["held_back"] == {"accounts": 1, "transactions": len(trans_rows)}


def test_account_district_must_be_in_file(tmp_path, capsys):
    folder = _small_folder(tmp_path / "berka")
    line = _replace_column(folder / "account.asc", "10", 1, "99")

    status, summary, errors = _dry_run(folder, tmp_path, capsys)

    assert status == 1
    assert errors == [
        f"error: {folder / 'account.asc'}:{line}: district_id 99 is not in "
        "district.asc; account 10 is held back until this line is fixed, and so "
        "are its rows: 1 in disp.asc and 2 in trans.asc"
    ]
    assert summary["accounts"] == 0
    assert summary["held_back"] == {"accounts": 1, "transactions": 2}


def test_byte_order_mark_names_file_and_line(tmp_path, capsys):
    folder = _small_folder(tmp_path / "berka")
    path = folder / "trans.asc"
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())

    status = cli.main([*UNREACHABLE, "import", "berka", str(folder), "--dry-run"])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"error: {path}:1: invalid header: the line starts with")
    assert "UTF-8 byte order mark" in err
    assert "codec" not in err


def test_non_ascii_byte_names_line_and_column(tmp_path, capsys):
    folder = _small_folder(tmp_path / "berka")
    path = folder / "client.asc"
    lines = len(path.read_bytes().splitlines())
    path.write_bytes(path.read_bytes() + b"\xff")

    status, summary, errors = _dry_run(folder, tmp_path, capsys)

    assert status == 1
    assert errors == [
        f"error: {path}:{lines + 1}: byte 0xff at character position 1 is not "
        "ASCII: the files are ASCII text, so replace or remove it"
    ]
    assert summary["customers"] == 1
    assert summary["errors"] == 1


def test_non_ascii_row_holds_back_its_account(tmp_path, capsys):
    folder = _small_folder(tmp_path / "berka")
    path = folder / "trans.asc"
    path.write_bytes(path.read_bytes().replace(b'"UROK"', b'"\xc3\x9aROK"'))

    status, summary, errors = _dry_run(folder, tmp_path, capsys)

    assert status == 1
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {path}:3: byte 0xc3 at character position ")
    assert "the 1 other row of account 10 is held back" in errors[0]
    assert summary["transactions"] == 0
    assert summary["held_back"] == {"accounts": 0, "transactions": 1}
