"""A service that cannot start exits with 1 and one line saying why."""

from __future__ import annotations

import subprocess
import sys

import duckdb

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
    assert "stop the process that holds it" in result.stderr


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

    assert_start_failed(result, f"cannot listen on {metrics}")
    assert "pass another --metrics-address" in result.stderr


def test_localhost_with_taken_port_fails_start(stack):
    # localhost resolves to 127.0.0.1 and ::1; the first is taken.
    port = stack.ports.grpc["accounts"]
    result = run_module(
        "transaction_service",
        "--listen",
        f"localhost:{port}",
        "--ledger-address",
        stack.ports.address("ledger"),
        "--metrics-address=",
    )

    assert_start_failed(result, f"cannot listen on localhost:{port}")
    assert f"127.0.0.1 port {port} is in use" in result.stderr


def test_taken_port_leaves_no_database_file(stack, tmp_path):
    database = tmp_path / "new.duckdb"
    result = run_module(
        "db_service",
        "--listen",
        stack.ports.address("ledger"),
        "--db-path",
        str(database),
        "--metrics-address=",
    )

    assert_start_failed(result, "cannot listen on")
    assert list(tmp_path.iterdir()) == []


def test_foreign_database_is_left_unchanged(tmp_path):
    database = tmp_path / "other.duckdb"
    with duckdb.connect(str(database)) as other:
        other.execute("CREATE TABLE accounts (name VARCHAR)")
    result = run_module(
        "db_service",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--db-path",
        str(database),
        "--metrics-address=",
    )

    assert_start_failed(result, f"cannot open the database file {database}")
    assert "pass a --db-path that names this ledger's DuckDB file" in result.stderr
    with duckdb.connect(str(database), read_only=True) as other:
        tables = other.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert tables == [("accounts",)]
