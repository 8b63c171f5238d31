"""Options of the three services: flags, environment variables and --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from account_service import main as account_main
from bank_common.stack import free_port
from db_service import main as ledger_main
from transaction_service import main as transaction_main

# (flag, environment variable, default, unit shown in the help) per service.
COMMON = [
    ("--log-level", "LOG_LEVEL", "INFO", "{DEBUG,INFO,WARNING,ERROR}"),
    ("--log-format", "LOG_FORMAT", "text", "{text,json}"),
    ("--shutdown-grace", "SHUTDOWN_GRACE", "5", "SECONDS"),
]
FRONT_END = [
    ("--ledger-address", "LEDGER_ADDR", "127.0.0.1:50051", "HOST:PORT"),
    ("--ledger-timeout", "LEDGER_TIMEOUT", "10", "SECONDS"),
    ("--read-wait", "READ_WAIT", "2", "SECONDS"),
]
OPTIONS = {
    "db_service": [
        ("--listen", "LEDGER_ADDR", "127.0.0.1:50051", "HOST:PORT"),
        ("--db-path", "LEDGER_DB_PATH", "data/ledger.duckdb", "PATH"),
        ("--max-batch", "LEDGER_MAX_BATCH", "512", "COUNT"),
        ("--progress-interval", "LEDGER_PROGRESS_INTERVAL", "1.0", "SECONDS"),
        ("--feed-buffer", "LEDGER_FEED_BUFFER", "1000", "COUNT"),
        ("--retention-hours", "LEDGER_RETENTION_HOURS", "0", "HOURS"),
        ("--metrics-address", "LEDGER_METRICS_ADDR", "127.0.0.1:9151", "HOST:PORT"),
        *COMMON,
    ],
    "account_service": [
        ("--listen", "ACCOUNTS_ADDR", "127.0.0.1:50052", "HOST:PORT"),
        ("--metrics-address", "ACCOUNTS_METRICS_ADDR", "127.0.0.1:9152", "HOST:PORT"),
        *FRONT_END,
        *COMMON,
    ],
    "transaction_service": [
        ("--listen", "TRANSACTIONS_ADDR", "127.0.0.1:50053", "HOST:PORT"),
        (
            "--metrics-address",
            "TRANSACTIONS_METRICS_ADDR",
            "127.0.0.1:9153",
            "HOST:PORT",
        ),
        *FRONT_END,
        *COMMON,
    ],
}
LISTEN_VARIABLE = {
    "db_service": "LEDGER_ADDR",
    "account_service": "ACCOUNTS_ADDR",
    "transaction_service": "TRANSACTIONS_ADDR",
}


def run_module(module: str, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def help_entries(help_text: str) -> dict[str, str]:
    """Split --help output into one whitespace-normalised entry per flag."""
    entries: dict[str, str] = {}
    current = None
    for line in help_text.splitlines():
        stripped = line.strip()
        if line.startswith("  -"):
            current = stripped.split()[0].rstrip(",")
            entries[current] = stripped
        elif current is not None and line.startswith("    "):
            entries[current] += " " + stripped
        else:
            current = None
    return entries


@pytest.mark.parametrize("module", sorted(OPTIONS))
def test_help_states_env_unit_and_default(module):
    result = run_module(module, "--help")
    entries = help_entries(result.stdout)

    assert result.returncode == 0, result.stderr
    for flag, variable, default, unit in OPTIONS[module]:
        entry = entries.get(flag, "")
        assert entry.startswith(f"{flag} {unit}"), entry
        assert f"(env {variable}, default {default})" in entry, entry


def test_front_ends_take_no_database_path():
    for parse in (account_main.parse_args, transaction_main.parse_args):
        with pytest.raises(SystemExit):
            parse(["--db-path", "x.duckdb"], {})


def test_ledger_store_reads_environment():
    environ = {
        "LEDGER_ADDR": "0.0.0.0:6001",
        "LEDGER_DB_PATH": "/var/lib/ledger/ledger.duckdb",
        "LEDGER_MAX_BATCH": "64",
        "LEDGER_METRICS_ADDR": "",
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": "json",
        "SHUTDOWN_GRACE": "0.5",
    }

    config = ledger_main.parse_args([], environ)

    assert config.listen == "0.0.0.0:6001"
    assert config.db_path == "/var/lib/ledger/ledger.duckdb"
    assert config.max_batch == 64
    assert config.common.metrics_address == ""
    assert config.common.log_level == "DEBUG"
    assert config.common.log_format == "json"
    assert config.common.shutdown_grace == 0.5


def test_front_end_reads_environment():
    environ = {
        "TRANSACTIONS_ADDR": "0.0.0.0:6003",
        "LEDGER_ADDR": "ledger:50051",
        "LEDGER_TIMEOUT": "3",
        "READ_WAIT": "0",
        "TRANSACTIONS_METRICS_ADDR": "0.0.0.0:9999",
    }

    config = transaction_main.parse_args([], environ)

    assert config.listen == "0.0.0.0:6003"
    assert config.ledger_address == "ledger:50051"
    assert config.ledger_timeout == 3.0
    assert config.read_wait == 0.0
    assert config.common.metrics_address == "0.0.0.0:9999"
    assert config.common.log_level == "INFO"


def test_flags_override_environment():
    environ = {"ACCOUNTS_ADDR": "0.0.0.0:6002", "LOG_LEVEL": "ERROR"}

    config = account_main.parse_args(
        ["--listen", "127.0.0.1:7002", "--log-level", "warning"], environ
    )

    assert config.listen == "127.0.0.1:7002"
    assert config.common.log_level == "WARNING"


@pytest.mark.parametrize(
    ("module", "variable", "value", "message"),
    [
        ("db_service", "LEDGER_ADDR", "localhost", "invalid address 'localhost'"),
        ("db_service", "LEDGER_MAX_BATCH", "0", "invalid value '0': use 1 or more"),
        ("db_service", "LEDGER_DB_PATH", "", "--db-path is empty"),
        ("db_service", "LEDGER_FEED_BUFFER", "0", "invalid value '0': use 1 or more"),
        ("db_service", "LEDGER_RETENTION_HOURS", "-1", "use 0 or more"),
        ("account_service", "LOG_LEVEL", "verbose", "invalid log level 'verbose'"),
        ("account_service", "LOG_FORMAT", "xml", "invalid log format 'xml'"),
        ("account_service", "LEDGER_ADDR", "ledger:http", "invalid address"),
        ("transaction_service", "LEDGER_TIMEOUT", "soon", "expected a number"),
        ("transaction_service", "READ_WAIT", "-1", "use 0 or more"),
        ("transaction_service", "SHUTDOWN_GRACE", "nan", "expected a finite"),
    ],
)
def test_invalid_environment_value_is_a_usage_error(
    module, variable, value, message, tmp_path
):
    # Flags for the other options keep a service that wrongly starts off the
    # default ports and away from the default database file.
    safe_flags = ["--metrics-address="]
    if variable != LISTEN_VARIABLE[module]:
        safe_flags += ["--listen", f"127.0.0.1:{free_port()}"]
    if module == "db_service" and variable != "LEDGER_DB_PATH":
        safe_flags += ["--db-path", str(tmp_path / "ledger.duckdb")]

    result = run_module(
        module, *safe_flags, env={"PATH": "/usr/bin:/bin", variable: value}
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
