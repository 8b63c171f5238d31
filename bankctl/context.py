"""The context of every command handler: the services, the output and helpers."""

from __future__ import annotations

import argparse
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from bank.accounts.v1 import account_service_pb2 as accounts_api
from bank.ledger.v1 import resources_pb2 as pb
from bank_common.validation import REQUEST_ID_MAX
from bankctl.connection import (
    Services,
    describe_error,
    is_transient,
    timeout_advice,
)
from bankctl.output import Output

# Ids and versions are positive int64 values on the wire.
MAX_INT64 = 2**63 - 1
# ASCII only, because str.isdigit() and the \d of re also accept "²", which
# int() rejects, and "１２" (fullwidth), which int() reads as 12.
_DIGITS = re.compile(r"[0-9]+")
_WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]*")
# The ledger's rule for request ids, as in bank_common.validation.request_id.
_REQUEST_ID = re.compile(rf"[\x21-\x7e]{{1,{REQUEST_ID_MAX}}}")


class CommandError(Exception):
    """A command cannot run as typed; the message names what to change."""


@dataclass
class Context:
    services: Services
    output: Output

    @property
    def timeout(self) -> float:
        return self.services.timeout

    def get_account(self, reference: str) -> pb.Account:
        """Read an account named by its id, or by an external reference.

        A reference of ASCII digits only is an account id; anything else,
        such as "berka:2378", is looked up as an external reference. Raises
        CommandError for an id outside 1 to MAX_INT64.
        """
        request = accounts_api.GetAccountRequest()
        if _DIGITS.fullmatch(reference):
            request.account_id = positive_int64(reference, "account id")
        else:
            request.external_ref = reference
        return self.services.accounts.GetAccount(request, timeout=self.timeout).account

    def write(self, call: Callable[..., Message], request: Message) -> Message:
        """Send a write request, and say how to retry it if its outcome is unknown.

        When the call times out or the service becomes unreachable, the
        write may have committed or not. Repeating it with the same
        request_id returns the first result or posts it once, never twice.
        """
        try:
            return call(request, timeout=self.timeout)
        except grpc.RpcError as error:
            if not is_transient(error):
                raise
            options = f"--request-id {request.request_id}"
            if getattr(request, "expected_version", 0):
                options += f" --expected-version {request.expected_version}"
            message = (
                f"{describe_error(error)}. The write may or may not have "
                f"committed: repeat the command with {options} to complete it "
                "without applying it twice"
            )
            advice = timeout_advice(error, self.timeout)
            if advice:
                message += f". {advice}"
            raise CommandError(message) from error


def request_id(given: str | None, command: str) -> str:
    """Return the --request-id given, or a new id when the option is absent.

    Raises CommandError for an id the ledger would reject, and for an empty
    one: a script that passes an unset variable would otherwise post under a
    new id each time and lose the safety of a retry.
    """
    if given is None:
        return f"bankctl-{command}-{uuid.uuid4().hex}"
    if not _REQUEST_ID.fullmatch(given):
        raise CommandError(
            f"--request-id {given!r} is invalid: use 1 to {REQUEST_ID_MAX} "
            "printable ASCII characters without spaces, or leave the option out "
            "for a new id"
        )
    return given


def positive_int64(text: str, name: str) -> int:
    """Parse an id or version typed by an operator: ASCII digits, 1 to MAX_INT64.

    A leading zero is rejected: "041" could be a mistyped id or an external
    reference, and bankctl does not guess which. ``name`` names the value in
    the CommandError raised for anything else.
    """
    if not _DIGITS.fullmatch(text):
        raise CommandError(
            f"{name} {text!r} is not a whole number: use the digits 0-9, such as 42"
        )
    value = int(text)
    if not 1 <= value <= MAX_INT64:
        raise CommandError(
            f"{name} {text} is out of range: use a number from 1 to {MAX_INT64}, "
            "the largest signed 64-bit integer"
        )
    if text.startswith("0"):
        raise CommandError(f"{name} {text!r} has a leading zero: write it as {value}")
    return value


def whole_number(text: str) -> int:
    """argparse type of a count: ASCII digits without a leading zero, 0 or more."""
    if not _WHOLE_NUMBER.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number: use the digits 0-9 without a "
            "leading zero, such as 25"
        )
    return int(text)


def account_reference(text: str) -> str:
    """argparse type of an ACCOUNT argument: an id or an external reference.

    The ledger trims external references when it stores them, so a value
    with spaces around it can only be a mistake, such as "41 " for 41.
    """
    if not text:
        raise argparse.ArgumentTypeError(
            "ACCOUNT is empty: give an account id, such as 42, or an external "
            "reference, such as berka:2378"
        )
    if text != text.strip():
        raise argparse.ArgumentTypeError(
            f"ACCOUNT {text!r} has spaces around it: remove them"
        )
    return text
