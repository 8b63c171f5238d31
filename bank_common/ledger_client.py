"""Client of the ledger store, used by the account and transaction services.

Every call carries a deadline: the caller's remaining time when there is a
caller, else ``default_timeout``. grpcio does not pass deadlines on by
itself. Calls wait for the channel to be ready, and the channel retries
calls that failed with UNAVAILABLE before reaching the store. That is safe
for writes because every write carries its request_id.

A status from the store that names a ledger rule comes back as the same
``LedgerError``, so the services pass it to their own callers unchanged.
"""

from __future__ import annotations

import json
import logging

import grpc

from bank.ledger.v1 import ledger_store_pb2_grpc
from bank_common import errors, status

log = logging.getLogger(__name__)

_SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": "bank.ledger.v1.LedgerStoreService"}],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.05s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}

CHANNEL_OPTIONS = (
    ("grpc.service_config", json.dumps(_SERVICE_CONFIG)),
    # After the ledger store restarts, try to reconnect within 2 s. grpcio's
    # default backoff grows to 120 s, so a store that was down for long would
    # look unavailable for minutes after it is back.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.enable_retries", 1),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
)


class LedgerClient:
    """A channel and stub to the ledger store at ``address``."""

    def __init__(self, address: str, *, default_timeout: float = 10.0):
        self.address = address
        self.default_timeout = default_timeout
        self.channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.stub = ledger_store_pb2_grpc.LedgerStoreServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    def timeout_for(self, context: grpc.aio.ServicerContext | None) -> float:
        """Return the deadline budget for a call made while serving ``context``."""
        remaining = context.time_remaining() if context is not None else None
        if remaining is None:
            return self.default_timeout
        return max(0.0, min(remaining, self.default_timeout))

    async def call(self, method: str, request, context=None):
        """Call a unary method of the ledger store and return its response.

        Raises the ``LedgerError`` the store reported, or
        ``LedgerStoreUnavailable`` when the store cannot be reached in time.
        """
        try:
            return await getattr(self.stub, method)(
                request, timeout=self.timeout_for(context), wait_for_ready=True
            )
        except grpc.aio.AioRpcError as error:
            raise self.translate(error, method) from None

    def translate(self, error: grpc.aio.AioRpcError, method: str) -> Exception:
        """Turn a failed call into the error to raise to our own caller."""
        domain_error = status.error_from_rpc_error(error)
        if domain_error is not None:
            return domain_error
        code = error.code()
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            log.warning("ledger store %s: %s %s", method, code.name, error.details())
            return errors.LedgerStoreUnavailable(
                f"the ledger store at {self.address} did not answer {method} in time "
                f"({code.name}: {error.details()}); retry later, with the same "
                "request_id for writes",
                upstream_code=code.name,
            )
        return RuntimeError(
            f"ledger store {method} failed: {code.name} {error.details()}"
        )
