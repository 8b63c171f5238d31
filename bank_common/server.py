"""The gRPC host shared by the three services.

Adds the standard health service and server reflection, the request
interceptor, keepalive settings for long-lived streams and the Prometheus
endpoint, and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

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
)


class ServiceHost:
    """A grpc.aio server with health, reflection, metrics and signal handling."""

    def __init__(self, name: str, listen: str, common: CommonConfig):
        self.name = name
        self.listen = listen
        self.common = common
        self.server = grpc.aio.server(
            interceptors=[RequestInterceptor()], options=SERVER_OPTIONS
        )
        self.health = health.aio.HealthServicer()
        self._service_names: list[str] = []
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
        self.port = self.server.add_insecure_port(self.listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {self.listen}: address in use or invalid")
        self._start_metrics()
        await self.server.start()
        for service in ("", *self._service_names):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s listening on %s", self.name, self.listen)

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
        start_http_server(port, addr=host)
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
