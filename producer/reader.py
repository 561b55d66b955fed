"""Streaming readers: one input file becomes ``(position, record)`` pairs, in file order, in bounded memory.

Shapes (DESIGN "Input files"):

- ``.jsonl`` / ``.ndjson``: one record per non-blank line; position = 1-based line number. A line that is
  not JSON, or longer than ``max_line_bytes``, is yielded as a :class:`BadRecord` (the file goes on).
- ``.json`` whose top level is an array: position = 0-based index.
- ``.json`` whose top level is an object whose *first* value is an object: an object of records,
  position = the key (a later value that is not an object is yielded for the caller to reject);
- ``.json`` whose top level is any other object: that object is the one record, position ``0``; it is
  read whole, at any file size, when it is at most ``max_line_bytes`` long, else it is a
  :class:`BadRecord` without being parsed. The first value decides because that is all a streamed file
  can know when its first record must be produced; small files follow the same rule.
- ``records_path`` (dotted, e.g. ``features``): the array or object at that path, positioned as above.
- each optionally gzipped (``.gz``).

Files up to ``small_file_bytes`` (decompressed) are parsed whole; bigger ones are streamed through the C
scanner of :mod:`producer.scan` (with ijson for ``records_path``, or when that extension is not built,
see :mod:`producer.streamed`). Whatever the route, what a record's text becomes follows one rule
(:mod:`producer.parse`): integers of any length exact, a number outside a double's range or a lone
surrogate escape makes that record a :class:`BadRecord`.

Records are yielded as parsed values (normally ``dict``); the caller decides that a non-object is a record
error. With ``opts.splice``, records (lines, or records of arrays and objects of records) may instead be
yielded as ``bytes``: their finished message value (see :mod:`producer.scan`). Problems with the file as
a whole (empty, not UTF-8, truncated, top-level scalar, nested deeper than
:data:`~producer.streams.MAX_DEPTH`, bad gzip) raise :class:`~schemas.errors.InputFileError` with a byte
offset, after yielding the records that were complete before the error (so a truncated file still
delivers its first records, whether it was parsed whole or streamed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from producer import scan
from producer.parse import (
    RARE_FLAGS,
    decode_value,
    looks_rare,
    parse_record,
    parse_text,
    position_problem,
    problem,
    render,
)
from producer.records import BadRecord, Item, OneRecord, ReadOptions, preview
from producer.scan import log_reading_path
from producer.streamed import streamed_document
from producer.streams import MAX_DEPTH, InputStream, read_head
from schemas.errors import InputFileError

__all__ = ["BadRecord", "ReadOptions", "is_json_lines", "read_records"]

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


def is_json_lines(path: Path) -> bool:
    name = path.name.removesuffix(".gz")
    return name.endswith((".jsonl", ".ndjson"))


def read_records(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """Yield ``(position, record)`` for every record of ``path`` (see the module docstring)."""
    opts = options or ReadOptions()
    if is_json_lines(path):
        return _read_lines(path, opts)
    return _read_document(path, opts)


# --- JSON Lines -------------------------------------------------------------------------------------


def _read_lines(path: Path, opts: ReadOptions) -> Iterator[Item]:
    loads = orjson.loads
    scan_line = scan.line_scanner(opts)  # None without the extension: every line is parsed
    seen_any = False
    with InputStream(path) as stream:
        line_no = 0
        while True:
            line = stream.readline(opts.max_line_bytes + 1)
            if not line:
                break
            line_no += 1
            if line_no == 1 and line.startswith(_BOM):
                line = line[3:]
            if len(line) > opts.max_line_bytes and not line.endswith(b"\n"):
                _skip_rest_of_line(stream, opts.max_line_bytes)
                seen_any = True
                yield (
                    str(line_no),
                    BadRecord(f"line {line_no} is longer than {opts.max_line_bytes} bytes", preview(line)),
                )
                continue
            if scan_line is not None:
                scanned = scan_line(line)
                if isinstance(scanned, bytes):  # a finished message value
                    seen_any = True
                    yield str(line_no), scanned
                    continue
                # a valid value says by its flags whether it is rare; an invalid line is routed as
                # without splicing, so that its error reads the same
                rare = bool(scanned & RARE_FLAGS) if scanned >= 0 else looks_rare(line)
            else:
                rare = looks_rare(line)
            if not rare:
                try:
                    record = loads(line)
                except orjson.JSONDecodeError:
                    if not line.strip(_WHITESPACE):
                        continue  # blank lines separate nothing; skip them
                    rare = True  # refused: parsed the exact way, which says why (or rejects the record)
            if rare:
                try:
                    record = parse_record(line, True)
                except json.JSONDecodeError as exc:
                    if not line.strip(_WHITESPACE):
                        continue  # blank lines separate nothing; skip them
                    seen_any = True
                    yield str(line_no), BadRecord(_line_error(line_no, line, exc), preview(line))
                    continue
            seen_any = True
            yield str(line_no), record
    if not seen_any:
        raise InputFileError("the file is empty (no JSON lines)", position=0, hint="drop a file with records")


def _skip_rest_of_line(stream: InputStream, chunk: int) -> None:
    while True:
        part = stream.readline(chunk)
        if not part or part.endswith(b"\n"):
            return


def _line_error(line_no: int, line: bytes, exc: json.JSONDecodeError) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"line {line_no}: invalid UTF-8 at column {bad.start + 1} (byte {bad.start} of the line)"
    return f"line {line_no}: not valid JSON ({exc.msg} at column {exc.colno})"


# --- JSON documents ---------------------------------------------------------------------------------


def _read_document(path: Path, opts: ReadOptions) -> Iterator[Item]:
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
        log_reading_path()
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
            hint="the copy was probably incomplete; drop the complete file again",
        )
    return InputFileError(f"not valid JSON ({exc.msg})", position=offset, unit=unit, hint="fix the JSON")
