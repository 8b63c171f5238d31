"""Pass messages between the public APIs and the ledger store unchanged.

Request and response messages that the public services share with the
ledger store keep the same field names and numbers, so one is turned into
the other by re-reading its wire bytes. ``tests/unit/test_forwarding.py``
checks every such pair, so a field added on one side only fails the tests
instead of being dropped silently.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


def forward(message: Message, target: type[M]) -> M:
    """Return ``message`` re-read as ``target``; fields unknown to it are dropped."""
    converted = target.FromString(message.SerializeToString())
    converted.DiscardUnknownFields()
    return converted
