"""Logging set-up shared by the three services: text or JSON lines on stderr."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: str, fmt: str, service: str) -> None:
    """Send every log record to stderr, one line each.

    ``fmt`` is "text" or "json". JSON lines carry a ``service`` field so the
    lines of the three services can be told apart once collected.
    """
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"levelname": "level"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(f"{TEXT_FORMAT} [{service}]"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
