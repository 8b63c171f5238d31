"""Fixtures shared by the test suites.

``stack`` starts the three real services as processes on free loopback
ports with a fresh DuckDB file, once per test module; tests that need a
stack of their own (restarts, kills) use ``LocalStack`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bank_common.stack import LocalStack
from tests.support.bank import Bank


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("stack")
    local = LocalStack(db_path=folder / "ledger.duckdb", log_dir=folder / "logs")
    try:
        local.start_all()
        yield local
    finally:
        local.stop_all()


@pytest.fixture(scope="module")
def bank(stack: LocalStack) -> Iterator[Bank]:
    client = Bank.for_stack(stack)
    yield client
    client.close()


def stack_logs(stack: LocalStack) -> str:
    """Return the services' log output, for assertion messages."""
    if stack.log_dir is None:
        return ""
    return "\n".join(
        f"--- {path.name}\n{path.read_text()[-4000:]}"
        for path in sorted(Path(stack.log_dir).glob("*.log"))
    )
