"""Options and start-up shared by the account and transaction services.

Both are front ends of the ledger store: they hold no database, call the
store for every write, and keep a live account view from its change feed.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import grpc

from bank_common.config import (
    CommonConfig,
    EnvDefaults,
    add_common_arguments,
    address,
    common_config,
    non_negative_float,
    positive_float,
)
from bank_common.feed_consumer import AccountView, FeedConsumer
from bank_common.ledger_client import LedgerClient
from bank_common.server import ServiceHost, wait_for_signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrontendConfig:
    """Options of a service in front of the ledger store."""

    listen: str
    """host:port the gRPC server listens on."""
    ledger_address: str
    """host:port of the ledger store."""
    ledger_timeout: float
    """Seconds a call to the ledger store may take when the caller set no deadline."""
    read_wait: float
    """Seconds a read with min_sequence waits for the view before asking the store."""
    common: CommonConfig


def parse_frontend_args(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    prog: str,
    description: str,
    prefix: str,
    listen_default: str,
    metrics_default: str,
) -> FrontendConfig:
    env = EnvDefaults(environ)
    parser = argparse.ArgumentParser(prog=prog, description=description)
    listen_var = f"{prefix}_ADDR"
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=address,
        default=env.get(listen_var, listen_default),
        help=env.help(
            "host:port to serve gRPC on; 0.0.0.0:PORT listens on every interface",
            listen_var,
            listen_default,
        ),
    )
    parser.add_argument(
        "--ledger-address",
        metavar="HOST:PORT",
        type=address,
        default=env.get("LEDGER_ADDR", "127.0.0.1:50051"),
        help=env.help(
            "host:port of the ledger store, which alone opens the DuckDB file, so "
            "this service takes no database path",
            "LEDGER_ADDR",
            "127.0.0.1:50051",
        ),
    )
    parser.add_argument(
        "--ledger-timeout",
        metavar="SECONDS",
        type=positive_float,
        default=env.get("LEDGER_TIMEOUT", "10"),
        help=env.help(
            "seconds a ledger store call may take when the caller set no deadline",
            "LEDGER_TIMEOUT",
            "10",
        ),
    )
    parser.add_argument(
        "--read-wait",
        metavar="SECONDS",
        type=non_negative_float,
        default=env.get("READ_WAIT", "2"),
        help=env.help(
            "seconds a read with min_sequence waits for this service's view",
            "READ_WAIT",
            "2",
        ),
    )
    add_common_arguments(parser, env, prefix=prefix, metrics_default=metrics_default)
    args = parser.parse_args(argv)
    return FrontendConfig(
        listen=args.listen,
        ledger_address=args.ledger_address,
        ledger_timeout=args.ledger_timeout,
        read_wait=args.read_wait,
        common=common_config(args),
    )


@dataclass
class Frontend:
    """The parts every front end builds; the servicer is built from them."""

    config: FrontendConfig
    ledger: LedgerClient
    feed: FeedConsumer


async def serve_frontend(
    config: FrontendConfig,
    *,
    name: str,
    service_name: str,
    register: Callable[[Frontend, grpc.aio.Server], None],
    on_event=None,
    before_stop=None,
) -> None:
    """Start the feed and the gRPC server, run until a signal, stop cleanly."""
    ledger = LedgerClient(config.ledger_address, default_timeout=config.ledger_timeout)
    # NOT_SERVING until the account view is loaded and the feed is open, and
    # again while the ledger store cannot be reached.
    host = ServiceHost(name, config.listen, config.common, ready=False)
    feed = FeedConsumer(
        ledger,
        AccountView(),
        service=name,
        on_event=on_event,
        on_connected=host.set_serving,
    )
    parts = Frontend(config, ledger, feed)
    host.add_service(service_name, lambda server: register(parts, server))
    feed.start()
    await host.start()
    log.info("%s uses the ledger store at %s", name, config.ledger_address)
    try:
        await wait_for_signal()
    finally:
        await host.stop(before_stop=before_stop)
        await feed.stop()
        await ledger.close()
