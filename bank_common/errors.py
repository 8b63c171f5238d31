"""Errors of the ledger and its services.

Every error a caller can cause is a subclass of ``LedgerError``. The category
classes below it (``InvalidArgument``, ``NotFound``, ``FailedPrecondition``,
``AlreadyExists``, ``Aborted``, ``OutOfRange``, ``Unavailable``) fix the gRPC
status code in ``bank_common.status``, and each error carries a ``reason``:
the stable, upper-case identifier sent to clients in ``google.rpc.ErrorInfo``.

Messages name the offending value and say what to do, because operators read
them in grpcurl output. They never contain personal data of customers.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error that a request can cause.

    ``metadata`` holds string values that help a client act on the error,
    for example the account id and its current balance.
    """

    reason = "LEDGER_ERROR"

    def __init__(self, message: str, *, reason: str | None = None, **metadata: object):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = {key: str(value) for key, value in metadata.items()}


class InvalidArgument(LedgerError):
    """The request itself is malformed, whatever the state of the ledger."""

    reason = "INVALID_ARGUMENT"

    def __init__(
        self, message: str, *, field: str, reason: str | None = None, **metadata
    ):
        super().__init__(message, reason=reason, field=field, **metadata)
        self.field = field


class NotFound(LedgerError):
    reason = "NOT_FOUND"


class CustomerNotFound(NotFound):
    reason = "CUSTOMER_NOT_FOUND"


class AccountNotFound(NotFound):
    reason = "ACCOUNT_NOT_FOUND"


class TransactionNotFound(NotFound):
    reason = "TRANSACTION_NOT_FOUND"


class FailedPrecondition(LedgerError):
    """The request is well formed but the current state forbids it."""

    reason = "FAILED_PRECONDITION"


class InsufficientFunds(FailedPrecondition):
    reason = "INSUFFICIENT_FUNDS"


class AccountFrozen(FailedPrecondition):
    reason = "ACCOUNT_FROZEN"


class AccountClosed(FailedPrecondition):
    reason = "ACCOUNT_CLOSED"


class CurrencyMismatch(FailedPrecondition):
    reason = "CURRENCY_MISMATCH"


class NonzeroBalance(FailedPrecondition):
    reason = "NONZERO_BALANCE"


class CustomerHasOpenAccounts(FailedPrecondition):
    reason = "CUSTOMER_HAS_OPEN_ACCOUNTS"


class CustomerDeleted(FailedPrecondition):
    reason = "CUSTOMER_DELETED"


class AlreadyReversed(FailedPrecondition):
    reason = "ALREADY_REVERSED"


class AlreadyExists(LedgerError):
    reason = "ALREADY_EXISTS"


class RequestIdReused(AlreadyExists):
    """A request id came back with a different request than its first use."""

    reason = "REQUEST_ID_REUSED"


class ExternalRefTaken(AlreadyExists):
    reason = "EXTERNAL_REF_TAKEN"


class Aborted(LedgerError):
    reason = "ABORTED"


class VersionMismatch(Aborted):
    """The caller's version is not the current one: someone changed the record."""

    reason = "VERSION_MISMATCH"


class OutOfRange(LedgerError):
    reason = "OUT_OF_RANGE"


class BalanceOutOfRange(OutOfRange):
    reason = "BALANCE_OUT_OF_RANGE"


class SequenceOutOfRange(OutOfRange):
    reason = "SEQUENCE_OUT_OF_RANGE"


class Unavailable(LedgerError):
    """A dependency cannot be reached or the service is stopping; retry later."""

    reason = "UNAVAILABLE"


class LedgerStoreUnavailable(Unavailable):
    reason = "LEDGER_STORE_UNAVAILABLE"


class ShuttingDown(Unavailable):
    reason = "SHUTTING_DOWN"
