"""Probe a service through the standard gRPC health protocol.

The container health checks in ``deploy/docker-compose.yml`` run this as
``bank-healthcheck HOST:PORT``. It exits 0 when the service reports SERVING
and 1 when it reports anything else, cannot be reached, or does not respond
within the timeout. It exits 2, as argparse does, for an invalid address or a
timeout that is not a positive finite number of seconds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bank_common.config import address, positive_float


def check(address: str, service: str = "", timeout: float = 3.0) -> tuple[bool, str]:
    """Return whether the server at ``address`` is SERVING, and the status seen."""
    request = health_pb2.HealthCheckRequest(service=service)
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(request, timeout=timeout)
        except grpc.RpcError as error:
            return False, f"{error.code().name}: {error.details()}"
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bank-healthcheck",
        description="Exit 0 when the gRPC server at HOST:PORT reports SERVING.",
    )
    parser.add_argument(
        "address",
        type=address,
        metavar="HOST:PORT",
        help="host:port of the gRPC server, such as 127.0.0.1:50051",
    )
    parser.add_argument(
        "--service",
        default="",
        help="service name to check, e.g. bank.ledger.v1.LedgerStoreService "
        "(default empty: the whole server)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=3.0,
        metavar="SECONDS",
        help="seconds to wait for the response, a number above 0 (default 3)",
    )
    args = parser.parse_args(argv)
    serving, detail = check(args.address, args.service, args.timeout)
    print(f"{args.address} {args.service or '(server)'}: {detail}")
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
