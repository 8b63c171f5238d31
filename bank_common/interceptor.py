"""Server interceptor: one log line, metrics and error mapping per request.

Handlers raise ``LedgerError`` subclasses; this interceptor turns them into
rich gRPC statuses, so no servicer builds a status itself. Any other
exception is a bug: it is logged with a traceback and an incident id, and
the client receives INTERNAL with that id.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import grpc
from google.protobuf.message import DecodeError
from prometheus_client import Counter, Histogram

from bank_common import errors, status

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "Time from receiving an RPC to its status, in seconds.",
    ["grpc_service", "grpc_method"],
    buckets=(
        0.0005,
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        10,
    ),
)

# Only the project's own services are logged per request; health probes and
# reflection would otherwise flood the log.
_OWN_PREFIX = "/bank."


class RequestInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(_OWN_PREFIX):
            return handler
        deserializer = _tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap(method, handler.unary_unary),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap(method, handler.unary_stream),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


class _Undecodable:
    """A request body that is not a valid message of the method's request type."""

    def __init__(self, type_name: str, detail: str):
        self.type_name = type_name
        self.detail = detail


def _tolerant(deserialize):
    """Wrap a request parser so a malformed body reaches the handler.

    grpcio returns UNKNOWN for a parser exception before any handler runs.
    The wrapped handler returns INVALID_ARGUMENT instead.
    """
    message_type = getattr(deserialize, "__self__", None)
    type_name = getattr(message_type, "DESCRIPTOR", None)
    type_name = type_name.full_name if type_name is not None else "request"

    def parse(data: bytes):
        try:
            return deserialize(data)
        except DecodeError as error:
            # The parser's text repeats the type name before its last ": ".
            return _Undecodable(type_name, str(error).rsplit(": ", 1)[-1])

    return parse


def _wrap(method: str, behavior):
    service, _, name = method[1:].rpartition("/")

    async def handle(request, context: grpc.aio.ServicerContext):
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            if isinstance(request, _Undecodable):
                raise errors.InvalidArgument(
                    f"the request body is not a valid {request.type_name} "
                    f"({request.detail}): send a serialized {request.type_name}",
                    field="",
                    reason="MALFORMED_REQUEST",
                )
            return await behavior(request, context)
        except errors.LedgerError as error:
            code = status.status_code_of(error)
            await context.abort_with_status(status.to_rpc_status(error))
        except grpc.aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except grpc.aio.InternalError:
            # Raised by context.write() when the client has gone away.
            code = grpc.StatusCode.CANCELLED
        except Exception:
            code = grpc.StatusCode.INTERNAL
            incident = uuid.uuid4().hex[:12]
            log.exception(
                "unexpected error in %s request_id=%s incident=%s",
                method,
                _request_id(request),
                incident,
            )
            await context.abort_with_status(
                status.internal_status(
                    f"internal error in {name} (incident {incident}); the server "
                    "log has the details. Retrying with the same request_id is safe."
                )
            )
        finally:
            elapsed = time.perf_counter() - started
            code_name = code.name if isinstance(code, grpc.StatusCode) else str(code)
            REQUESTS.labels(service, name, code_name).inc()
            LATENCY.labels(service, name).observe(elapsed)
            request_id = _request_id(request)
            # The same facts as fields of their own, for JSON log lines.
            fields = {
                "rpc_method": method,
                "grpc_code": code_name,
                "duration_ms": round(elapsed * 1000, 3),
                "request_id": request_id,
            }
            log.info(
                "%s %s %.1fms request_id=%s",
                method,
                code_name,
                elapsed * 1000,
                request_id,
                extra=fields,
            )

    return handle


def _request_id(request) -> str:
    return getattr(request, "request_id", "") or "-"
