"""The shapes readers hand out: ``(position, record)`` items, unparseable records, reading options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["CUT_FILE_HINT", "MAX_DEPTH", "BadRecord", "Item", "OneRecord", "ReadOptions", "preview"]

#: Deepest nesting accepted in a file (the same limit orjson applies to small files).
MAX_DEPTH = 1024

#: What to do about a file that ends before its data does (a copy or upload cut short): its report names
#: the file in the two ways to remove it (:func:`producer.inbox.reports.unreadable_file_todo`).
CUT_FILE_HINT = (
    "the copy was probably incomplete; drop the complete file again under the same name, "
    "or remove the cut one"
)


class BadRecord(NamedTuple):
    """A record that could not be parsed; ``raw`` is (the start of) its text for the rejected report."""

    reason: str
    raw: str


class OneRecord(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a streaming reader when the top-level object's first value is not an object: the
    document is one record, which the JSON document framing then reads whole (see
    :mod:`producer.read.framing.json_document`)."""


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read a file. ``splice = (source field, source)`` lets the C scanner yield plain records as
    their finished message value (``bytes``, see :mod:`producer.read.framing.json_scanner`); everything
    else is yielded as parsed whatever ``splice`` says. ``max_line_bytes`` is the longest record read
    whole when it is not cut out by the scanner: a longer JSON Lines line, or a longer document that is
    one record, is a :class:`BadRecord` without being parsed."""

    records_path: str | None = None
    small_file_bytes: int = 4 * 1024 * 1024
    max_line_bytes: int = 16 * 1024 * 1024
    max_depth: int = MAX_DEPTH
    splice: tuple[str, str] | None = None
    csv_delimiter: str | None = None  # unset: sniffed from the file's first lines
    csv_quotechar: str | None = None  # unset: sniffed from the file's first lines
    csv_types: bool = True  # False: every CSV value is text
    # where a framing says what it decided about the file that its report should say (a CSV header's
    # renamed columns); None: nobody asks
    notes: list[str] | None = None


Item = tuple[str, Any]


def preview(data: bytes, limit: int = 10_000) -> str:
    return data[:limit].decode("utf-8", "replace").rstrip("\r\n")
