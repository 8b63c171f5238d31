"""The container health probe, run as the installed bank-healthcheck command."""

import subprocess
import sys
import time

import pytest

from bank_common.stack import LocalStack, free_port

PROBE = [sys.executable, "-m", "bank_common.healthcheck"]


def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PROBE, *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_probe_passes_for_serving_services(stack):
    for service in ("ledger", "accounts", "transactions"):
        result = probe(stack.ports.address(service))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SERVING" in result.stdout


def test_probe_checks_a_named_service(stack):
    address = stack.ports.address("accounts")

    known = probe(address, "--service", "bank.accounts.v1.AccountService")
    unknown = probe(address, "--service", "bank.no.such.Service")

    assert known.returncode == 0, known.stdout + known.stderr
    assert unknown.returncode == 1
    assert "NOT_FOUND" in unknown.stdout


def test_probe_fails_when_nothing_listens():
    result = probe(f"127.0.0.1:{free_port()}", "--timeout", "1")

    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stdout or "DEADLINE_EXCEEDED" in result.stdout


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1:99999", "invalid address '127.0.0.1:99999'"),
        ("", "invalid address ''"),
        ("127.0.0.1", "invalid address '127.0.0.1'"),
    ],
    ids=["port-out-of-range", "empty", "no-port"],
)
def test_probe_rejects_bad_address(address, reason):
    result = probe(address, "--timeout", "1")

    assert result.returncode == 2
    assert result.stdout == ""
    assert reason in result.stderr
    assert "usage: bank-healthcheck" in result.stderr


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "soon"])
def test_probe_rejects_bad_timeout(timeout):
    result = probe(f"127.0.0.1:{free_port()}", f"--timeout={timeout}")

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"argument --timeout: invalid value {timeout!r}" in result.stderr


def test_front_ends_not_serving_without_ledger_store(tmp_path):
    stack = LocalStack(db_path=tmp_path / "ledger.duckdb", log_dir=tmp_path / "logs")
    stack.start_all()
    try:
        stack.stop("ledger")
        for service in ("accounts", "transactions"):
            assert wait_for_status(stack, service, "NOT_SERVING")

        stack.start("ledger")
        for service in ("accounts", "transactions"):
            assert wait_for_status(stack, service, "SERVING")
    finally:
        stack.stop_all()


def wait_for_status(stack: LocalStack, service: str, expected: str) -> bool:
    """Probe ``service`` until it reports ``expected``; False after 15 s."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = probe(stack.ports.address(service), "--timeout", "1")
        if result.stdout.split() and result.stdout.split()[-1] == expected:
            return True
        time.sleep(0.1)
    return False
