"""The reading path's one entry: a file becomes ``(position, record)`` items, in file order, in bounded
memory (DESIGN "Reading files").

The file's name picks its framing (how its bytes are cut into records, each framing file says how and
what a position is) and, through the framing, its format (how one record's bytes become a value); a
``.gz`` name adds gzip decompression underneath (:mod:`producer.read.decompress`). A record is yielded
as a parsed value (normally a ``dict``: the caller decides that anything else is a record error), as
``bytes`` (its finished message value, when ``opts.splice`` allows it), or as a :class:`BadRecord`.
Problems with the file as a whole raise :class:`~schemas.errors.InputFileError`, after the records that
were complete before them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from producer.read.format.json_values import parse_text
from producer.read.framing.csv_rows import read_csv
from producer.read.framing.json_document import read_document
from producer.read.framing.json_lines import read_lines
from producer.read.records import BadRecord, Item, ReadOptions

__all__ = [
    "BadRecord",
    "ReadOptions",
    "as_record",
    "framing_of",
    "position_unit",
    "read_records",
    "reading_suffix",
    "unspliced",
]

Framing = Callable[[Path, ReadOptions], Iterator[Item]]

#: Name suffix (before an optional ``.gz``) → the framing that reads it. Adding a format adds a line.
FRAMINGS: dict[str, Framing] = {
    ".jsonl": read_lines,
    ".ndjson": read_lines,
    ".json": read_document,
    ".csv": read_csv,
    ".tsv": read_csv,
}


def _framing_suffix(name: str) -> str:
    """The suffix of ``name`` (before an optional ``.gz``) that picks its framing (else ``.json``)."""
    plain = name.removesuffix(".gz")
    return next((suffix for suffix in FRAMINGS if plain.endswith(suffix)), ".json")


def framing_of(path: Path | str) -> Framing:
    """The framing for a file of this name; a name without a known suffix is read as a JSON document."""
    return FRAMINGS[_framing_suffix(str(path))]


def reading_suffix(name: str) -> str:
    """The end of ``name`` that decides how the file is read: the suffix that picks its framing, then
    ``.gz`` if it has one. A copy under another name with this ending is read the same way."""
    return _framing_suffix(name) + (".gz" if name.endswith(".gz") else "")


def position_unit(path: Path) -> str:
    """What a record's position counts in a file of this name: ``line`` (JSON Lines, CSV) or ``record``."""
    return "line" if framing_of(path.name) in (read_lines, read_csv) else "record"


def read_records(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """Yield ``(position, record)`` for every record of ``path`` (see the module docstring)."""
    return framing_of(path.name)(path, options or ReadOptions())


def unspliced(value: bytes, source_field: str) -> Any:
    """The record a finished value was made from (the spliced source field removed), as parsed."""
    record, _ = parse_text(value, True)  # integers of any length stay exact
    del record[source_field]
    return record


def as_record(item: Any) -> Any:
    """The record for a rejected report: a finished value (``bytes``) parsed, anything else as it is."""
    return parse_text(item, True)[0] if type(item) is bytes else item
