"""The standard gRPC health service on both public services."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("variable", "service"),
    [
        ("ACCOUNTS_ADDR", "bank.accounts.v1.AccountService"),
        ("TRANSACTIONS_ADDR", "bank.transactions.v1.TransactionService"),
    ],
)
def test_health_reports_serving(addresses, variable, service):
    with grpc.insecure_channel(addresses[variable]) as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        server = stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        named = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        with pytest.raises(grpc.RpcError) as unknown:
            stub.Check(health_pb2.HealthCheckRequest(service="no.Such"), timeout=10)

    assert server.status == SERVING
    assert named.status == SERVING
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
