"""The README's grpcurl commands, run exactly as printed with the real grpcurl.

They are written against `make run`, so this test starts the three services
on the default ports (50051 to 50053, metrics 9151 to 9153) with a fresh
database, and fails with a clear message when another process uses them.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bank_common.stack import LocalStack, Ports

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = str(Path(sys.executable).parent)


def readme_commands() -> list[str]:
    """Return each grpcurl command of the README's sh blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
    commands: list[str] = []
    for block in blocks:
        pending = ""
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            if pending.rstrip().endswith("\\"):
                continue
            try:
                shlex.split(pending)
            except ValueError:
                continue
            if pending.startswith("grpcurl"):
                commands.append(pending)
            pending = ""
    return commands


def readme_error_message() -> str:
    match = re.search(r"^  Message: (.*)$", README.read_text(), flags=re.MULTILINE)
    assert match, "the README shows no grpcurl error output"
    return match.group(1)


def check_ports_free(ports: Ports) -> None:
    for port in [*ports.grpc.values(), *ports.metrics.values()]:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(
                    f"port {port} is in use; stop `make run` (or whatever holds the "
                    "default ports) before running this test"
                )


@pytest.fixture(scope="module")
def default_stack(tmp_path_factory):
    ports = Ports.defaults()
    check_ports_free(ports)
    folder = tmp_path_factory.mktemp("readme")
    stack = LocalStack(db_path=folder / "ledger.duckdb", ports=ports, log_dir=folder)
    stack.start_all()
    yield stack
    stack.stop_all()


def run(command: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, timeout=30
    )


def test_readme_command_list():
    commands = readme_commands()
    methods = [command.split()[-1] for command in commands]
    assert len(commands) == 10
    assert methods[:2] == ["list", "bank.accounts.v1.AccountService"]
    assert "bank.transactions.v1.TransactionService/Transfer" in methods


def test_readme_commands_work_as_printed(default_stack):
    outputs = []
    for command in readme_commands():
        result = run(command)
        outputs.append(result)
        if "readme-transfer-2" in command:
            assert result.returncode == 64 + 9, result.stdout + result.stderr
            assert f"Message: {readme_error_message()}" in result.stderr
            assert '"reason":"INSUFFICIENT_FUNDS"' in result.stderr
        else:
            assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"

    listed, described, customer, checking, savings = outputs[:5]
    deposit, transfer, statement, account = outputs[5:9]
    assert "bank.accounts.v1.AccountService" in listed.stdout
    assert "grpc.health.v1.Health" in listed.stdout
    assert "rpc OpenAccount" in described.stdout
    assert '"customer_id": "1"' in customer.stdout
    assert '"account_id": "41"' in checking.stdout
    assert '"account_id": "42"' in savings.stdout
    assert '"minor_units": "125000"' in deposit.stdout
    assert '"minor_units": "95000"' in transfer.stdout
    assert statement.stdout.count('"entry_id"') == 2
    assert '"minor_units": "95000"' in account.stdout


def test_readme_commands_repeat_identically(default_stack):
    commands = [c for c in readme_commands() if "request_id" in c]
    first = [run(command) for command in commands]
    again = [run(command) for command in commands]
    for before, after in zip(first, again, strict=True):
        assert after.returncode == before.returncode
        assert after.stdout == before.stdout
