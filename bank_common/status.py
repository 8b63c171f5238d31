"""Conversion between ``LedgerError`` and gRPC rich status.

This is the one place where a domain error becomes a gRPC status code with a
``google.rpc.ErrorInfo`` detail, and where a status received from the ledger
store becomes a domain error again, so the account and transaction services
pass the store's errors to their callers unchanged.
"""

from __future__ import annotations

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from bank_common import errors

ERROR_DOMAIN = "bank.ledger"

_CODE_BY_CATEGORY: dict[type[errors.LedgerError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

_CATEGORY_BY_CODE = {code: category for category, code in _CODE_BY_CATEGORY.items()}


def status_code_of(error: errors.LedgerError) -> grpc.StatusCode:
    """Return the gRPC status code for an error, by its category class."""
    return _code_of(type(error))


def _code_of(cls: type[errors.LedgerError]) -> grpc.StatusCode:
    for category in cls.__mro__:
        code = _CODE_BY_CATEGORY.get(category)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def to_rpc_status(error: errors.LedgerError) -> grpc.Status:
    """Build the status sent to the client, with an ErrorInfo detail."""
    code = status_code_of(error)
    status = status_pb2.Status(code=code.value[0], message=error.message)
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )
    status.details.add().Pack(info)
    return rpc_status.to_status(status)


def internal_status(message: str) -> grpc.Status:
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=message)
    return rpc_status.to_status(status)


def _reason_registry() -> dict[str, type[errors.LedgerError]]:
    registry: dict[str, type[errors.LedgerError]] = {}
    pending: list[type[errors.LedgerError]] = [errors.LedgerError]
    while pending:
        cls = pending.pop()
        registry.setdefault(cls.reason, cls)
        pending.extend(cls.__subclasses__())
    return registry


_CLASS_BY_REASON = _reason_registry()


def error_from_rpc_error(error: grpc.RpcError) -> errors.LedgerError | None:
    """Rebuild the domain error that a ledger-store status describes.

    Returns None when the status carries no ErrorInfo of this domain, which
    means the failure was in transport (UNAVAILABLE, DEADLINE_EXCEEDED) or a
    bug, not a rule of the ledger.
    """
    info = _error_info(error)
    if info is None:
        return None
    cls = _CLASS_BY_REASON.get(info.reason)
    if cls is None or _code_of(cls) != error.code():
        # A reason may also name a class of another category, such as
        # InvalidArgument with reason CURRENCY_MISMATCH. The code then decides.
        cls = _CATEGORY_BY_CODE.get(error.code(), errors.LedgerError)
    rebuilt = cls.__new__(cls)
    errors.LedgerError.__init__(rebuilt, error.details() or "", reason=info.reason)
    rebuilt.metadata = dict(info.metadata)
    if isinstance(rebuilt, errors.InvalidArgument):
        rebuilt.field = rebuilt.metadata.get("field", "")
    return rebuilt


def _error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    trailers = error.trailing_metadata() or ()
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == ERROR_DOMAIN:
                return info
    return None
