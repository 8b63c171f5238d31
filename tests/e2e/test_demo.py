"""``make demo``: its run on free ports, and its refusal of ports in use."""

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
