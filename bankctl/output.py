"""Command output: readable tables by default, JSON with ``--json``.

JSON output is the proto3 JSON mapping of the response messages with the
field names of the .proto files, so 64-bit integers such as ``minor_units``
are strings, as that mapping prescribes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from google.protobuf import json_format
from google.protobuf.message import Message


def message_to_dict(message: Message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class Output:
    """Prints results as tables or as JSON."""

    def __init__(self, as_json: bool, stream: TextIO | None = None):
        self.as_json = as_json
        self.stream = stream if stream is not None else sys.stdout

    def record(self, message: Message, fields: Sequence[tuple[str, str]]) -> None:
        """Print one resource: ``fields`` as a two-column table, or the message."""
        if self.as_json:
            self.json(message_to_dict(message))
        else:
            self.table(("field", "value"), fields)

    def rows(
        self,
        key: str,
        messages: Sequence[Message],
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        right_aligned: Sequence[str] = (),
    ) -> None:
        """Print a list: as a table of ``rows``, or as {key: [messages]}."""
        if self.as_json:
            self.json({key: [message_to_dict(m) for m in messages]})
        else:
            self.table(headers, rows, right_aligned)

    def json(self, value: object) -> None:
        print(json.dumps(value, indent=2, ensure_ascii=False), file=self.stream)

    def json_line(self, value: object) -> None:
        print(json.dumps(value, ensure_ascii=False), file=self.stream, flush=True)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        right_aligned: Sequence[str] = (),
    ) -> None:
        print(format_table(headers, rows, right_aligned), file=self.stream)

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right_aligned: Sequence[str] = (),
) -> str:
    """Lay out rows under their headers in columns two spaces apart.

    Columns named in ``right_aligned`` (amounts, counts) align to the right.
    """
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    right = [header in right_aligned for header in headers]

    def layout(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    lines = [layout(headers), layout(["-" * width for width in widths])]
    lines.extend(layout(row) for row in rows)
    return "\n".join(lines)
