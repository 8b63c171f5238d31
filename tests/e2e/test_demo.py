"""``make demo``: its run on free ports, and its checks of ports and folder."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bank_common.stack import Ports
from bankctl import demo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_demo_imports_and_prints_statement(tmp_path):
    folder = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "bankctl.demo", "--free-ports", "--folder", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"balances that differ from the bank's: 0 of \d+", result.stdout)
    # 48426.00 is the bank's own balance after the account's last row of May 1993.
    assert re.search(
        r"Statement of account \d+ \(berka:2378\), balance 48426\.00 CZK",
        result.stdout,
    )
    assert (folder / "reconciliation.csv").exists()


def test_demo_refuses_ports_in_use(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "keep").write_text("an earlier demo's file")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports = Ports.free()
        ports.grpc["ledger"] = holder.getsockname()[1]
        monkeypatch.setattr(Ports, "free", classmethod(lambda cls: ports))

        status = demo.main(["--free-ports", "--folder", str(folder)])

    assert status == 1
    assert f"ports in use: {ports.grpc['ledger']} (ledger store gRPC)" in (
        capsys.readouterr().err
    )
    assert (folder / "keep").exists()


def test_demo_keeps_folder_with_other_files(tmp_path, capsys):
    folder = tmp_path / "data"
    (folder / "berka").mkdir(parents=True)
    (folder / "berka" / "trans.asc").write_text("source data")
    (folder / "ledger.duckdb").write_text("another ledger")

    status = demo.main(["--free-ports", "--folder", str(folder)])

    err = capsys.readouterr().err
    assert status == 1
    assert f"--folder {folder} contains files that a demo does not write" in err
    assert "(berka)" in err
    assert "choose a new or empty folder with --folder" in err
    assert (folder / "berka" / "trans.asc").exists()
    assert (folder / "ledger.duckdb").exists()


def test_demo_rejects_file_as_folder(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("not a folder")

    status = demo.main(["--free-ports", "--folder", str(path)])

    assert status == 1
    assert f"--folder {path} is not a folder" in capsys.readouterr().err
    assert path.read_text() == "not a folder"


def test_demo_files_are_not_foreign(tmp_path):
    (tmp_path / "logs").mkdir()
    for name in ("ledger.duckdb", "ledger.duckdb.wal", "reconciliation.csv"):
        (tmp_path / name).write_text("")
    for service in ("ledger", "accounts", "transactions"):
        (tmp_path / "logs" / f"{service}.log").write_text("")

    assert demo.foreign_entries(tmp_path) == []
    assert demo.foreign_entries(tmp_path / "missing") == []


def test_other_files_are_foreign(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("")
    (tmp_path / "reconciliation.csv").mkdir()
    (tmp_path / "keep").write_text("")
    (tmp_path / "ledger.duckdb").symlink_to(tmp_path / "keep")

    assert demo.foreign_entries(tmp_path) == [
        "keep",
        "ledger.duckdb",
        "logs/notes.txt",
        "reconciliation.csv",
    ]
