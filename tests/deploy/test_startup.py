"""A service that cannot start exits with 1 and one line saying why."""

from __future__ import annotations

import subprocess
import sys

from bank_common.stack import free_port


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_start_failed(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode == 1, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_taken_grpc_port_fails_start(stack, tmp_path):
    result = run_module(
        "db_service",
        "--listen",
        stack.ports.address("ledger"),
        "--db-path",
        str(tmp_path / "other.duckdb"),
        "--metrics-address=",
    )

    assert_start_failed(result, f"cannot listen on {stack.ports.address('ledger')}")
    assert "pass another --listen" in result.stderr


def test_database_in_use_fails_start(stack):
    result = run_module(
        "db_service",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--db-path",
        str(stack.db_path),
        "--metrics-address=",
    )

    assert_start_failed(result, f"cannot open the database file {stack.db_path}")
    assert "--db-path" in result.stderr


def test_folder_as_database_fails_start(tmp_path):
    result = run_module(
        "db_service",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--db-path",
        str(tmp_path),
        "--metrics-address=",
    )

    assert_start_failed(result, f"cannot open the database file {tmp_path}")


def test_taken_metrics_port_fails_start(stack):
    metrics = f"127.0.0.1:{stack.ports.metrics['accounts']}"
    result = run_module(
        "account_service",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--ledger-address",
        stack.ports.address("ledger"),
        "--metrics-address",
        metrics,
    )

    assert_start_failed(result, f"cannot serve metrics on {metrics}")
