"""Composition root of the transaction service."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

from bank.transactions.v1 import transaction_service_pb2, transaction_service_pb2_grpc
from bank_common import logs
from bank_common.frontend import (
    Frontend,
    FrontendConfig,
    parse_frontend_args,
    serve_frontend,
)
from bank_common.server import run_service
from transaction_service.servicer import TransactionServicer

SERVICE_NAME = transaction_service_pb2.DESCRIPTOR.services_by_name[
    "TransactionService"
].full_name


async def serve(config) -> None:
    closing = asyncio.Event()

    def register(parts: Frontend, server) -> None:
        servicer = TransactionServicer(
            parts.ledger, parts.feed, closing, read_wait=config.read_wait
        )
        transaction_service_pb2_grpc.add_TransactionServiceServicer_to_server(
            servicer, server
        )

    async def end_streams() -> None:
        closing.set()

    await serve_frontend(
        config,
        name="transaction service",
        service_name=SERVICE_NAME,
        register=register,
        before_stop=end_streams,
    )


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> FrontendConfig:
    return parse_frontend_args(
        argv,
        environ,
        prog="transaction-service",
        description="The transaction processing API: postings and statements.",
        prefix="TRANSACTIONS",
        listen_default="127.0.0.1:50053",
        metrics_default="127.0.0.1:9153",
    )


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(sys.argv[1:] if argv is None else argv, os.environ)
    logs.configure(
        config.common.log_level, config.common.log_format, "transaction_service"
    )
    run_service(serve(config))


if __name__ == "__main__":
    main()
