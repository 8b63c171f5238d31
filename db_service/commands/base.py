"""What every write request becomes before it reaches the writer.

A command validates its request when it is built, on the gRPC event loop,
so malformed requests never wait in the writer's queue. ``execute`` then
runs in the writer thread against a ``Batch``: it checks the rules that
depend on the current state and stages the changes, or raises a
``LedgerError`` having staged nothing.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from google.protobuf.message import Message

from bank_common import validation
from db_service.batch import Batch

EXTERNAL_REF_MAX = 128


class Command:
    """A validated write request."""

    method: ClassVar[str]
    """The LedgerStoreService RPC name, stored with the idempotency record."""
    response_type: ClassVar[type[Message]]

    def __init__(self, request: Message):
        self.request_id = validation.request_id(request.request_id)
        self.request_hash = request_hash(self.method, request)

    def account_ids(self) -> set[int]:
        """Accounts that ``execute`` will read, loaded for the whole batch at once."""
        return set()

    def customer_ids(self) -> set[int]:
        """Customers that ``execute`` will read, loaded for the whole batch at once."""
        return set()

    def external_refs(self) -> dict[str, str]:
        """External references that ``execute`` will claim, by entity type.

        The batch checks them for the whole batch in one query per type.
        """
        return {}

    def execute(self, batch: Batch) -> Message:
        raise NotImplementedError


def request_hash(method: str, request: Message) -> bytes:
    """Hash the request without its request_id, to detect a reused id."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField("request_id")
    digest = hashlib.sha256(method.encode())
    digest.update(copy.SerializeToString(deterministic=True))
    return digest.digest()


def external_ref(value: str, field: str) -> str | None:
    return validation.text(value, field, EXTERNAL_REF_MAX)
