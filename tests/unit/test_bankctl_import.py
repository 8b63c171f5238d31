"""Where ``bankctl import berka`` writes its reconciliation report.

``--dry-run`` checks the files and writes the report without calling any
service, so these tests need no running stack.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bankctl import cli
from bankctl.importing import DEFAULT_REPORT
from tests.support.berka import REPO, write_folder

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
