"""Composition root of the account service."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from account_service.servicer import AccountServicer, AccountWatchers
from bank.accounts.v1 import account_service_pb2, account_service_pb2_grpc
from bank_common import logs
from bank_common.frontend import (
    Frontend,
    FrontendConfig,
    parse_frontend_args,
    serve_frontend,
)
from bank_common.server import run_service

SERVICE_NAME = account_service_pb2.DESCRIPTOR.services_by_name[
    "AccountService"
].full_name


async def serve(config) -> None:
    watchers = AccountWatchers()

    def register(parts: Frontend, server) -> None:
        servicer = AccountServicer(
            parts.ledger, parts.feed, watchers, read_wait=config.read_wait
        )
        account_service_pb2_grpc.add_AccountServiceServicer_to_server(servicer, server)

    async def end_streams() -> None:
        watchers.closing.set()

    await serve_frontend(
        config,
        name="account service",
        service_name=SERVICE_NAME,
        register=register,
        on_event=watchers.on_event,
        before_stop=end_streams,
    )


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> FrontendConfig:
    return parse_frontend_args(
        argv,
        environ,
        prog="account-service",
        description="The account management API: customers and accounts.",
        prefix="ACCOUNTS",
        listen_default="127.0.0.1:50052",
        metrics_default="127.0.0.1:9152",
    )


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(sys.argv[1:] if argv is None else argv, os.environ)
    logs.configure(config.common.log_level, config.common.log_format, "account_service")
    run_service(serve(config))


if __name__ == "__main__":
    main()
