"""Opaque page tokens for keyset pagination.

A token carries the last key of the previous page and a fingerprint of the
query that produced it, so a token from another query, or a damaged one, is
rejected instead of silently returning the wrong rows. Tokens are not
signed: a client that builds one itself can only choose where a page of its
own query starts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from bank_common.errors import InvalidArgument

_VERSION = 1
# Tokens from encode() are about 80 characters. The cap keeps json.loads away
# from deeply nested input, which raises RecursionError instead of ValueError.
MAX_TOKEN_LENGTH = 256
# Keys are BIGINT ids. DuckDB 2.0.1 rejects a query parameter beyond 128 bits.
MAX_KEY = 2**63 - 1


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode(query: str, last_key: int) -> str:
    body = json.dumps({"v": _VERSION, "q": _fingerprint(query), "k": last_key})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(token: str, query: str) -> int:
    """Return the last key that ``token`` carries, or 0 for an empty token."""
    if not token:
        return 0
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ValueError("token too long")
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        valid = (
            isinstance(body, dict)
            and body.get("v") == _VERSION
            and type(body.get("k")) is int
            and 0 <= body["k"] <= MAX_KEY
        )
    except (ValueError, UnicodeError, binascii.Error):
        valid = False
    if not valid:
        raise InvalidArgument(
            "page_token is malformed: pass next_page_token from the previous response "
            "unchanged, or leave it empty for the first page",
            field="page_token",
            reason="INVALID_PAGE_TOKEN",
        )
    if body.get("q") != _fingerprint(query):
        raise InvalidArgument(
            "page_token belongs to a different query: keep the other request fields "
            "as they "
            "were for the first page, or start again with an empty page_token",
            field="page_token",
            reason="INVALID_PAGE_TOKEN",
        )
    return body["k"]
