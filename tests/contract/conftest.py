"""Where the contract tests find the services.

With ACCOUNTS_ADDR and TRANSACTIONS_ADDR set (host:port each), the tests
run against those services, for example a compose stack. Without them
they start the three services as local processes on free ports with a
fresh DuckDB file, which is what ``make test`` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from bank_common.stack import LocalStack
from tests.contract.client import Api

ADDRESS_VARIABLES = ("ACCOUNTS_ADDR", "TRANSACTIONS_ADDR")
STARTUP_TIMEOUT = 60.0
"""Seconds the services at given addresses get to report SERVING."""


def wait_serving(address: str, timeout: float) -> None:
    """Wait until the gRPC server at ``address`` reports SERVING."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as error:
                last = f"{error.code().name}: {error.details()}"
            time.sleep(0.5)
    raise TimeoutError(f"{address} not SERVING after {timeout:.0f}s ({last})")


@pytest.fixture(scope="session")
def addresses(tmp_path_factory) -> Iterator[dict[str, str]]:
    given = {name: os.environ.get(name, "") for name in ADDRESS_VARIABLES}
    if all(given.values()):
        for address in given.values():
            wait_serving(address, STARTUP_TIMEOUT)
        yield given
        return
    if any(given.values()):
        pytest.fail(
            "set both ACCOUNTS_ADDR and TRANSACTIONS_ADDR, or neither to start "
            f"local services; got {given}"
        )
    folder = tmp_path_factory.mktemp("contract")
    stack = LocalStack(db_path=folder / "ledger.duckdb", log_dir=folder / "logs")
    try:
        stack.start_all()
        yield {
            "ACCOUNTS_ADDR": stack.ports.address("accounts"),
            "TRANSACTIONS_ADDR": stack.ports.address("transactions"),
        }
    finally:
        stack.stop_all()


@pytest.fixture(scope="session")
def api(addresses) -> Iterator[Api]:
    accounts = grpc.insecure_channel(addresses["ACCOUNTS_ADDR"])
    transactions = grpc.insecure_channel(addresses["TRANSACTIONS_ADDR"])
    yield Api(
        accounts=acc_grpc.AccountServiceStub(accounts),
        transactions=txn_grpc.TransactionServiceStub(transactions),
    )
    accounts.close()
    transactions.close()
