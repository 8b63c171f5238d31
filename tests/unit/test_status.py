"""Every LedgerError through bank_common.status and a real gRPC server.

An in-process grpc.aio server with the services' request interceptor raises
each error class by name. The client checks the status code and ErrorInfo it
receives, and rebuilds the error with ``error_from_rpc_error``. The classes
are found by walking the subclasses of ``LedgerError``, so a new error class
without a category fails here.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from bank.ledger.v1 import ledger_store_pb2 as store
from bank_common import errors, status
from bank_common.interceptor import RequestInterceptor

# The gRPC code each category class must map to.
CATEGORY_CODES: dict[type[errors.LedgerError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

SERVICE = "bank.test.v1.Errors"
METHOD = f"/{SERVICE}/Raise"
# The request's external_ref names the error class to raise, optionally
# followed by ":REASON". This name makes the handler raise a plain bug instead.
BUG = "RuntimeError"


def error_classes() -> list[type[errors.LedgerError]]:
    found: list[type[errors.LedgerError]] = []
    pending = list(errors.LedgerError.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


ERROR_CLASSES = error_classes()
CLASS_BY_NAME = {cls.__name__: cls for cls in ERROR_CLASSES}


def build_error(name: str, reason: str = "") -> errors.LedgerError:
    cls = CLASS_BY_NAME[name]
    kwargs: dict[str, object] = {"account_id": 42, "balance": -7}
    if reason:
        kwargs["reason"] = reason
    if issubclass(cls, errors.InvalidArgument):
        kwargs["field"] = "amount.minor_units"
    return cls(f"{name} happened: do the fix", **kwargs)


async def raise_named(request: store.GetCustomerRequest, context):
    if request.external_ref == BUG:
        raise RuntimeError("a bug, not a ledger rule")
    name, _, reason = request.external_ref.partition(":")
    raise build_error(name, reason)


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    """A channel to an error-raising server running on its own event loop."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stopping = asyncio.Event()
    state: dict[str, int] = {}

    async def serve() -> None:
        server = grpc.aio.server(interceptors=[RequestInterceptor()])
        handler = grpc.unary_unary_rpc_method_handler(
            raise_named,
            request_deserializer=store.GetCustomerRequest.FromString,
            response_serializer=store.GetCustomerResponse.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Raise": handler}),)
        )
        state["port"] = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        started.set()
        await stopping.wait()
        await server.stop(None)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert started.wait(10), "the error server did not start"
    client = grpc.insecure_channel(f"127.0.0.1:{state['port']}")
    try:
        yield client
    finally:
        client.close()
        loop.call_soon_threadsafe(stopping.set)
        thread.join(10)
        loop.close()


def call_raising(channel: grpc.Channel, name: str) -> grpc.RpcError:
    call = channel.unary_unary(
        METHOD,
        request_serializer=store.GetCustomerRequest.SerializeToString,
        response_deserializer=store.GetCustomerResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as failure:
        call(store.GetCustomerRequest(external_ref=name), timeout=10)
    return failure.value


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    details = dict(error.trailing_metadata())["grpc-status-details-bin"]
    rich = status_pb2.Status.FromString(details)
    assert len(rich.details) == 1
    info = error_details_pb2.ErrorInfo()
    assert rich.details[0].Unpack(info)
    return info


def category_of(cls: type[errors.LedgerError]) -> type[errors.LedgerError]:
    categories = [base for base in cls.__mro__ if base in CATEGORY_CODES]
    assert categories, f"{cls.__name__} derives from no category in errors.py"
    return categories[0]


def test_walk_finds_every_error_class_of_the_module():
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, errors.LedgerError)
        and value is not errors.LedgerError
    }

    assert defined == set(ERROR_CLASSES)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_error_class_maps_to_its_category_code(cls):
    expected = CATEGORY_CODES[category_of(cls)]

    assert status.status_code_of(build_error(cls.__name__)) == expected


def test_reasons_are_unique_and_upper_snake_case():
    seen: dict[str, str] = {}
    for cls in ERROR_CLASSES:
        assert "reason" in vars(cls), f"{cls.__name__} inherits its reason"
        assert re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", cls.reason), cls.__name__
        assert cls.reason not in seen, f"{cls.__name__} and {seen[cls.reason]}"
        seen[cls.reason] = cls.__name__


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_error_travels_with_code_reason_and_metadata(channel, cls):
    sent = build_error(cls.__name__)

    received = call_raising(channel, cls.__name__)

    assert received.code() == CATEGORY_CODES[category_of(cls)]
    assert received.details() == sent.message
    info = error_info(received)
    assert info.reason == cls.reason
    assert info.domain == status.ERROR_DOMAIN
    assert dict(info.metadata) == sent.metadata


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_error_from_rpc_error_rebuilds_same_class(channel, cls):
    sent = build_error(cls.__name__)

    rebuilt = status.error_from_rpc_error(call_raising(channel, cls.__name__))

    assert type(rebuilt) is cls
    assert rebuilt.reason == sent.reason
    assert rebuilt.message == sent.message
    assert rebuilt.metadata == sent.metadata
    if isinstance(sent, errors.InvalidArgument):
        assert rebuilt.field == sent.field


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (errors.InvalidArgument, "INVALID_AMOUNT"),
        (errors.FailedPrecondition, "INTERNAL_ACCOUNT"),
        (errors.NotFound, "SOMETHING_NEW"),
        (errors.InvalidArgument, "CURRENCY_MISMATCH"),
        (errors.FailedPrecondition, "INVALID_AMOUNT"),
    ],
)
def test_custom_reason_rebuilds_as_its_category(channel, cls, reason):
    received = call_raising(channel, f"{cls.__name__}:{reason}")

    rebuilt = status.error_from_rpc_error(received)

    assert received.code() == CATEGORY_CODES[cls]
    assert type(rebuilt) is cls
    assert rebuilt.reason == reason


def test_bug_becomes_internal_without_error_info(channel):
    received = call_raising(channel, BUG)

    assert received.code() == grpc.StatusCode.INTERNAL
    assert "incident" in received.details()
    assert "a bug" not in received.details()
    assert status.error_from_rpc_error(received) is None
