"""Channels to the three services, and the text of the errors they return."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

import grpc

from bank.accounts.v1 import account_service_pb2_grpc as accounts_grpc
from bank.ledger.v1 import ledger_store_pb2_grpc as ledger_grpc
from bank.transactions.v1 import transaction_service_pb2_grpc as transactions_grpc
from bank_common import status

DEFAULT_ADDRESSES = {
    "ledger": "127.0.0.1:50051",
    "accounts": "127.0.0.1:50052",
    "transactions": "127.0.0.1:50053",
}
ADDRESS_VARIABLES = {
    "ledger": "LEDGER_ADDR",
    "accounts": "ACCOUNTS_ADDR",
    "transactions": "TRANSACTIONS_ADDR",
}

_CHANNEL_OPTIONS = (("grpc.max_receive_message_length", 8 * 1024 * 1024),)

# HOST:PORT, where an IPv6 host is in brackets. The port is [0-9], not \d,
# because \d also matches non-ASCII digits such as "５", which int() reads as 5.
_ADDRESS = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(?P<port>[0-9]+)")
MAX_PORT = 65535


def address_type(service: str) -> Callable[[str], str]:
    """Return the argparse type of --SERVICE-addr: HOST:PORT, port 1 to 65535.

    argparse also runs it on the default taken from the environment
    variable, so a bad variable fails the same way as a bad option.
    """
    variable = ADDRESS_VARIABLES[service]

    def check(text: str) -> str:
        source = f"(from --{service}-addr or {variable})"
        match = _ADDRESS.fullmatch(text)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not HOST:PORT, such as {DEFAULT_ADDRESSES[service]} "
                f"or [::1]:50052 {source}"
            )
        port = match["port"]
        if port.startswith("0") or int(port) > MAX_PORT:
            raise argparse.ArgumentTypeError(
                f"port {port} in {text!r} is out of range: use 1 to {MAX_PORT}, "
                f"without leading zeros {source}"
            )
        return text

    return check


class Services:
    """Stubs of the account service, transaction service and ledger store.

    Each channel opens on first use, so a command connects only to the
    services it calls. ``timeout`` is the deadline of every unary call, in
    seconds.
    """

    def __init__(self, addresses: dict[str, str], timeout: float):
        self.addresses = addresses
        self.timeout = timeout
        self._channels: dict[str, grpc.Channel] = {}

    def _channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            self._channels[service] = grpc.insecure_channel(
                self.addresses[service], options=_CHANNEL_OPTIONS
            )
        return self._channels[service]

    @property
    def accounts(self) -> accounts_grpc.AccountServiceStub:
        return accounts_grpc.AccountServiceStub(self._channel("accounts"))

    @property
    def transactions(self) -> transactions_grpc.TransactionServiceStub:
        return transactions_grpc.TransactionServiceStub(self._channel("transactions"))

    @property
    def ledger(self) -> ledger_grpc.LedgerStoreServiceStub:
        return ledger_grpc.LedgerStoreServiceStub(self._channel("ledger"))

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


def describe_error(error: grpc.RpcError) -> str:
    """Return "CODE REASON: message" for a failed call.

    REASON is the ErrorInfo reason the ledger attaches to every error it
    raises. Failures of transport (an unreachable service, an expired
    deadline) carry none, so their text is the status code and the message
    of grpcio.
    """
    code = error.code().name if error.code() is not None else "UNKNOWN"
    ledger_error = status.error_from_rpc_error(error)
    if ledger_error is not None:
        return f"{code} {ledger_error.reason}: {ledger_error.message}"
    return f"{code}: {error.details()}"


def is_transient(error: grpc.RpcError) -> bool:
    """Return whether the call may succeed when retried with the same request_id."""
    return error.code() in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )


def timeout_advice(error: grpc.RpcError, timeout: float) -> str:
    """Return advice to raise --timeout after an expired deadline, else ""."""
    if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
        return ""
    return (
        f"No reply came within --timeout {timeout:g} s: raise --timeout if the "
        "service is busy or the command reads a lot"
    )
