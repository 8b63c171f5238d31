"""Composition root of the ledger store: options, database, writer, server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from bank.ledger.v1 import ledger_store_pb2, ledger_store_pb2_grpc
from bank_common import logs
from bank_common.config import (
    CommonConfig,
    EnvDefaults,
    add_common_arguments,
    address,
    common_config,
    non_negative_float,
    positive_float,
    positive_int,
)
from bank_common.server import (
    ServiceHost,
    StartupError,
    check_ports_free,
    run_service,
    wait_for_signal,
)
from db_service.adapters.database import Database
from db_service.feed import ChangeFeed
from db_service.retention import prune_forever
from db_service.servicer import LedgerStoreServicer
from db_service.writer import LedgerWriter

log = logging.getLogger("db_service")

SERVICE_NAME = ledger_store_pb2.DESCRIPTOR.services_by_name[
    "LedgerStoreService"
].full_name


@dataclass(frozen=True)
class LedgerStoreConfig:
    """Options of the ledger store."""

    listen: str
    """host:port the gRPC server listens on."""
    db_path: str
    """Path of the DuckDB file; created with its folder when missing."""
    max_batch: int
    """Most write requests committed together in one DuckDB transaction."""
    progress_interval: float
    """Seconds of silence after which a change-feed stream gets a progress message."""
    retention_hours: float
    """Age after which change-log events are deleted; 0 keeps every event."""
    feed_buffer: int
    """Commits buffered per change-feed stream before it reads the change log."""
    common: CommonConfig


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> LedgerStoreConfig:
    env = EnvDefaults(environ)
    parser = argparse.ArgumentParser(
        prog="ledger-store",
        description="The ledger store: the only process that opens the DuckDB file.",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=address,
        default=env.get("LEDGER_ADDR", "127.0.0.1:50051"),
        help=env.help(
            "host:port to serve gRPC on, which is the ledger store address the "
            "other services dial; 0.0.0.0:PORT listens on every interface",
            "LEDGER_ADDR",
            "127.0.0.1:50051",
        ),
    )
    parser.add_argument(
        "--db-path",
        metavar="PATH",
        default=env.get("LEDGER_DB_PATH", "data/ledger.duckdb"),
        help=env.help(
            "path of the DuckDB database file, created with its folder when missing",
            "LEDGER_DB_PATH",
            "data/ledger.duckdb",
        ),
    )
    parser.add_argument(
        "--max-batch",
        metavar="COUNT",
        type=positive_int,
        default=env.get("LEDGER_MAX_BATCH", "512"),
        help=env.help(
            "max write requests committed together in one DuckDB transaction",
            "LEDGER_MAX_BATCH",
            "512",
        ),
    )
    parser.add_argument(
        "--progress-interval",
        metavar="SECONDS",
        type=positive_float,
        default=env.get("LEDGER_PROGRESS_INTERVAL", "1.0"),
        help=env.help(
            "seconds without events before a change-feed stream gets a progress "
            "message",
            "LEDGER_PROGRESS_INTERVAL",
            "1.0",
        ),
    )
    parser.add_argument(
        "--feed-buffer",
        metavar="COUNT",
        type=positive_int,
        default=env.get("LEDGER_FEED_BUFFER", "1000"),
        help=env.help(
            "commits buffered in memory per change-feed stream; a stream further "
            "behind catches up from the change log table",
            "LEDGER_FEED_BUFFER",
            "1000",
        ),
    )
    parser.add_argument(
        "--retention-hours",
        metavar="HOURS",
        type=non_negative_float,
        default=env.get("LEDGER_RETENTION_HOURS", "0"),
        help=env.help(
            "hours of change-log history to keep; 0 keeps everything",
            "LEDGER_RETENTION_HOURS",
            "0",
        ),
    )
    add_common_arguments(parser, env, prefix="LEDGER", metrics_default="127.0.0.1:9151")
    args = parser.parse_args(argv)
    if not args.db_path:
        parser.error("--db-path is empty: give the path of the DuckDB file")
    return LedgerStoreConfig(
        listen=args.listen,
        db_path=args.db_path,
        max_batch=args.max_batch,
        progress_interval=args.progress_interval,
        retention_hours=args.retention_hours,
        feed_buffer=args.feed_buffer,
        common=common_config(args),
    )


async def serve(config: LedgerStoreConfig) -> None:
    started_us = time.time_ns() // 1000
    # Before the database, so a service that cannot listen changes no file.
    check_ports_free(config.listen, config.common.metrics_address)
    database = open_database(config.db_path)
    currencies = [row[0] for row in database.currencies()]
    feed = ChangeFeed(
        database,
        queue_size=config.feed_buffer,
        progress_interval=config.progress_interval,
    )
    writer = LedgerWriter(database, feed.publish, max_batch=config.max_batch)
    feed.attach(asyncio.get_running_loop(), writer.latest_sequence)
    writer.start(currencies)
    log.info("change log at sequence %d", writer.latest_sequence)

    host = ServiceHost("ledger store", config.listen, config.common)
    servicer = LedgerStoreServicer(database, writer, feed, started_us)
    host.add_service(
        SERVICE_NAME,
        lambda server: ledger_store_pb2_grpc.add_LedgerStoreServiceServicer_to_server(
            servicer, server
        ),
    )
    await host.start()
    pruner = None
    if config.retention_hours:
        pruner = asyncio.create_task(prune_forever(writer, config.retention_hours))
    try:
        await wait_for_signal()
    finally:
        if pruner is not None:
            pruner.cancel()
        log.info("stopping: ending change-feed streams, finishing queued writes")

        async def end_streams():
            feed.close()

        await host.stop(before_stop=end_streams)
        writer.stop()
        database.close()


def open_database(path: str) -> Database:
    """Open the DuckDB file; raise StartupError with the reason when it fails."""
    try:
        return Database(path)
    except (duckdb.Error, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "lock" in reason.lower():
            fix = "stop the process that holds it, or pass another --db-path"
        else:
            fix = (
                "pass a --db-path that names this ledger's DuckDB file, or a new "
                "file in a writable folder"
            )
        raise StartupError(
            f"cannot open the database file {path}: {reason}. To fix it, {fix}"
        ) from None


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(sys.argv[1:] if argv is None else argv, os.environ)
    # The writer thread runs Python between its DuckDB calls. With the default
    # 5 ms switch interval, the event loop, which delivers change events and
    # responses, can wait that long for the GIL each time.
    sys.setswitchinterval(0.001)
    logs.configure(config.common.log_level, config.common.log_format, "db_service")
    run_service(serve(config))


if __name__ == "__main__":
    main()
