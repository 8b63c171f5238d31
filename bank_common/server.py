"""The gRPC host shared by the three services.

Adds the standard health service and server reflection, the request
interceptor, keepalive settings for long-lived streams and the Prometheus
endpoint, and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from bank_common.config import CommonConfig, split_host_port
from bank_common.interceptor import RequestInterceptor

log = logging.getLogger(__name__)

# Keepalive for change-feed streams that stay idle for long stretches: the
# server pings every 30 s and drops a peer that does not answer in 10 s.
# ping_timeout_ms matters because grpcio otherwise waits 60 s for a ping
# reply. Clients may ping every 10 s without data before being told off.
SERVER_OPTIONS: Sequence[tuple[str, int]] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.ping_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
    # grpcio sets SO_REUSEPORT by default, so a second copy of a service would
    # bind the same port and take part of its calls instead of failing.
    ("grpc.so_reuseport", 0),
)


class StartupError(Exception):
    """A service cannot start: a port is taken or its database cannot be opened."""


def check_ports_free(listen: str, metrics_address: str) -> None:
    """Raise StartupError when another process listens on either address.

    grpcio starts once any address that a host name resolves to binds, so
    "localhost:PORT" with 127.0.0.1:PORT taken would serve on ::1 alone. A
    trial bind of each resolved address finds the taken one first. Only
    "address in use" counts, and an empty metrics address is skipped.
    """
    for option, address in (
        ("--listen", listen),
        ("--metrics-address", metrics_address),
    ):
        if not address:
            continue
        host, port = split_host_port(address)
        try:
            resolved = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as error:
            raise StartupError(
                f"cannot listen on {address}: the host does not resolve "
                f"({error.strerror}); pass an IP address or a local host name "
                f"as {option}"
            ) from None
        for family, kind, protocol, _, socket_address in resolved:
            with socket.socket(family, kind, protocol) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(socket_address)
                except OSError as error:
                    if error.errno == errno.EADDRINUSE:
                        raise StartupError(
                            f"cannot listen on {address}: {socket_address[0]} port "
                            f"{port} is in use; stop the other process or pass "
                            f"another {option}"
                        ) from None


class ServiceHost:
    """A grpc.aio server with health, reflection, metrics and signal handling."""

    def __init__(
        self, name: str, listen: str, common: CommonConfig, *, ready: bool = True
    ):
        """``ready=False`` reports NOT_SERVING until ``set_serving(True)``."""
        self.name = name
        self.listen = listen
        self.common = common
        self.server = grpc.aio.server(
            interceptors=[RequestInterceptor()], options=SERVER_OPTIONS
        )
        self.health = health.aio.HealthServicer()
        self._service_names: list[str] = []
        self._ready = ready
        self.port = 0

    def add_service(
        self, full_name: str, register: Callable[[grpc.aio.Server], None]
    ) -> None:
        register(self.server)
        self._service_names.append(full_name)

    async def start(self) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME),
            self.server,
        )
        check_ports_free(self.listen, self.common.metrics_address)
        try:
            self.port = self.server.add_insecure_port(self.listen)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise StartupError(
                f"cannot listen on {self.listen}: the port is in use or the address "
                "is not local; stop the other process or pass another --listen"
            )
        self._start_metrics()
        await self.server.start()
        await self.set_serving(self._ready)
        log.info("%s listening on %s", self.name, self.listen)

    async def set_serving(self, serving: bool) -> None:
        """Report SERVING or NOT_SERVING for the server and each of its services."""
        self._ready = serving
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", *self._service_names):
            await self.health.set(service, status)

    async def stop(
        self, before_stop: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Report NOT_SERVING, let callers end their streams, then stop."""
        await self.health.enter_graceful_shutdown()
        if before_stop is not None:
            await before_stop()
        await self.server.stop(self.common.shutdown_grace)
        log.info("%s stopped", self.name)

    def _start_metrics(self) -> None:
        if not self.common.metrics_address:
            return
        host, port = split_host_port(self.common.metrics_address)
        try:
            start_http_server(port, addr=host)
        except OSError as error:
            raise StartupError(
                f"cannot serve metrics on {self.common.metrics_address} "
                f"({error.strerror}): stop the other process or pass another "
                "--metrics-address, or an empty one to serve no metrics"
            ) from None
        log.info(
            "%s metrics on http://%s/metrics", self.name, self.common.metrics_address
        )


async def wait_for_signal() -> None:
    """Return on the first SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()


def run_service(main: Coroutine) -> None:
    """Run a service's main coroutine; exit with status 1 if it cannot start."""
    try:
        asyncio.run(main)
    except StartupError as error:
        log.error("cannot start: %s", error)
        sys.exit(1)
