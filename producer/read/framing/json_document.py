"""JSON documents (``.json``): one value per file, cut into records (DESIGN "Input files").

- top level an array: position = 0-based index;
- top level an object whose *first* value is an object: an object of records, position = the key (a later
  value that is not an object is yielded for the caller to reject);
- top level any other object: that object is the one record, position ``0``; it is read whole, at any
  file size, when it is at most ``max_line_bytes`` long, else it is a :class:`BadRecord` without being
  parsed. The first value decides because that is all a streamed file can know when its first record
  must be produced; small files follow the same rule;
- ``records_path`` (dotted, e.g. ``features``): the array or object at that path, positioned as above.

Files up to ``small_file_bytes`` (decompressed) are parsed whole; bigger ones are streamed through the C
scanner of :mod:`producer.read.framing.json_scanner` (with ijson for ``records_path``, or when that
extension is not built, see :mod:`producer.read.framing.json_streamed`). Whatever the route, what a
record's text becomes follows the one rule of :mod:`producer.read.format.json_values`. Problems with the
file as a whole (empty, not UTF-8, truncated, top-level scalar, nested deeper than ``max_depth``, bad gzip)
raise :class:`~schemas.errors.InputFileError` with a byte offset, after yielding the records that were
complete before the error (so a truncated file still delivers its first records, whether it was parsed
whole or streamed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from producer.read.decompress import InputStream, read_head
from producer.read.format.json_values import (
    decode_value,
    looks_rare,
    parse_text,
    position_problem,
    problem,
    render,
)
from producer.read.framing import json_scanner as scan
from producer.read.framing.json_streamed import streamed_document
from producer.read.records import (
    CUT_FILE_HINT,
    MAX_DEPTH,
    BadRecord,
    Item,
    OneRecord,
    ReadOptions,
    preview,
)
from schemas.errors import InputFileError

__all__ = ["read_document"]

_WHITESPACE = b" \t\r\n"


def read_document(path: Path, opts: ReadOptions) -> Iterator[Item]:
    """Yield ``(position, record)`` for every record of the document (see the module docstring)."""
    with InputStream(path) as stream:
        head, complete = read_head(stream, opts.small_file_bytes + 1)
        start = _first_value_offset(head)
        if start is None:
            if complete:  # nothing but whitespace, and nothing more to read
                raise InputFileError(
                    "the file is empty (no JSON value)",
                    position=0,
                    unit=stream.unit,
                    hint="drop a file with records",
                )
            start = 0  # a very long run of whitespace: let the streaming parser find the value
        if complete:
            yield from _whole_document(head, start, stream.unit, opts)
            return
        scan.log_reading_path()
        try:
            if scan.AVAILABLE and not opts.records_path and head[start : start + 1] in (b"[", b"{"):
                yield from scan.scanned_document(stream, head, start, opts)
            else:
                yield from streamed_document(path, stream, head, start, opts)
        except OneRecord:
            pass
        else:
            return
    yield from _one_record(path, opts)


def _one_record(path: Path, opts: ReadOptions) -> Iterator[Item]:
    """A streamed top-level object whose first value is not an object is one record: read whole, like a
    small file, when it is at most ``max_line_bytes`` long, else rejected without being parsed."""
    with InputStream(path) as stream:
        data, complete = read_head(stream, opts.max_line_bytes + 1)
        start = _first_value_offset(data) or 0
        if complete and len(data.rstrip(_WHITESPACE)) - start <= opts.max_line_bytes:
            yield from _whole_document(data, start, stream.unit, opts)
        else:
            yield "0", _one_record_too_big(opts.max_line_bytes, data[start:])


def _first_value_offset(data: bytes) -> int | None:
    stripped = data.lstrip(_WHITESPACE)
    return len(data) - len(stripped) if stripped else None


def _whole_document(data: bytes, start: int, unit: str, opts: ReadOptions) -> Iterator[Item]:
    scanned = scan.scanned_whole(data, start, opts) if scan.AVAILABLE else None
    if scanned is not None:
        yield from scanned
        return
    try:
        document, rare = parse_text(data, looks_rare(data))  # rare: parsed exactly, to be checked
    except json.JSONDecodeError as exc:
        error = _parse_error(data, exc, unit)
        if not opts.records_path and error.position is not None and "nested deeper" not in error.reason:
            yield from _salvage(data, error.position, start)
        raise error from None
    if opts.records_path:
        document = _descend(document, opts.records_path)
        yield from _checked(_container_items(document, opts.records_path, start, unit), rare)
        return
    if isinstance(document, dict):
        if not document:
            return
        if type(next(iter(document.values()))) is dict:  # the first value decides
            yield from _checked(document.items(), rare)
            return
        end = len(data.rstrip(_WHITESPACE))
        if end - start > opts.max_line_bytes:
            yield "0", _one_record_too_big(opts.max_line_bytes, data[start:end])
            return
        reason = problem(document) if rare else None
        yield "0", document if reason is None else BadRecord(reason, preview(data[start:end]))
        return
    yield from _checked(_container_items(document, None, start, unit), rare)


def _one_record_too_big(limit: int, text: bytes) -> BadRecord:
    reason = (
        f"the file is one JSON object (not an object of records) longer than {limit} bytes, "
        "more than a record may be"
    )
    return BadRecord(reason, preview(text, 1000))


def _checked(items: Iterable[Item], rare: bool) -> Iterator[Item]:
    """``items`` parsed from rare text, each rejected if it breaks the rule (positions too: an object's
    keys); parsed from text that is not rare, they cannot."""
    if not rare:
        yield from items
        return
    for position, record in items:
        reason = position_problem(position) or problem(record)
        yield position, record if reason is None else BadRecord(reason, render(record))


def _salvage(data: bytes, stop: int, start: int) -> Iterator[Item]:
    """The records complete before byte ``stop``, where the document stopped parsing: they are produced
    like the records before an error in a streamed file (each checked by the rule)."""
    text = data[:stop].decode("utf-8", "replace")
    is_object = text[start : start + 1] == "{"
    index, at = 0, start + 1
    try:
        while True:
            at = _skip_whitespace(text, at)
            if at >= len(text) or text[at] in "]}":
                return
            if index:
                if text[at] != ",":
                    return
                at = _skip_whitespace(text, at + 1)
            position = str(index)
            if is_object:
                position, at = decode_value(text, at)
                at = _skip_whitespace(text, at)
                if not isinstance(position, str) or text[at : at + 1] != ":":
                    return
                at = _skip_whitespace(text, at + 1)
            record, at = decode_value(text, at)
            if is_object and index == 0 and type(record) is not dict:
                return  # the first value decides: one record, and it is incomplete
            index += 1
            yield from _checked([(position, record)], True)
    except json.JSONDecodeError:
        return


def _skip_whitespace(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _container_items(value: Any, path: str | None, start: int, unit: str) -> Iterator[Item]:
    if isinstance(value, list):
        for index, record in enumerate(value):
            yield str(index), record
    elif isinstance(value, dict):
        yield from value.items()
    else:
        where = f"records_path {path!r} points to" if path else "the top-level value is"
        raise InputFileError(
            f"{where} {_kind(value)}; expected an object or an array of records",
            position=None if path else start,
            unit=unit,
            hint="drop a JSON object, an array of objects, or JSON Lines",
        )


def _descend(document: Any, dotted: str) -> Any:
    value = document
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise InputFileError(
                f"records_path {dotted!r} not found in the file (no {part!r})",
                hint="check producer.records_path",
            )
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _parse_error(data: bytes, exc: json.JSONDecodeError, unit: str) -> InputFileError:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return InputFileError(
            "the file is not valid UTF-8",
            position=bad.start,
            unit=unit,
            hint="re-export it as UTF-8 (JSON must be UTF-8)",
        )
    offset = len(text[: exc.pos].encode("utf-8"))
    if "depth limit" in exc.msg:
        return InputFileError(
            f"JSON nested deeper than {MAX_DEPTH} levels", position=offset, unit=unit, hint="flatten the data"
        )
    if "unexpected end of data" in exc.msg or offset >= len(data.rstrip(_WHITESPACE)):
        return InputFileError(
            "truncated JSON (the file ends in the middle of a value)",
            position=offset,
            unit=unit,
            hint=CUT_FILE_HINT,
        )
    return InputFileError(f"not valid JSON ({exc.msg})", position=offset, unit=unit, hint="fix the JSON")
