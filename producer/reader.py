"""Streaming readers: one input file becomes ``(position, record)`` pairs, in file order, in bounded memory.

Shapes (DESIGN "Input files"):

- ``.jsonl`` / ``.ndjson``: one record per non-blank line; position = 1-based line number. A line that is
  not JSON, or longer than ``max_line_bytes``, is yielded as a :class:`BadRecord` (the file goes on).
- ``.json`` whose top level is an array: position = 0-based index.
- ``.json`` whose top level is an object of objects (``{"730": {...}}``): position = the key.
- ``.json`` whose top level is any other object: that object is the one record, position ``0``.
- ``records_path`` (dotted, e.g. ``features``): the array or object at that path, positioned as above.
- each optionally gzipped (``.gz``).

Files up to ``small_file_bytes`` (decompressed) are parsed whole with orjson; bigger ones are streamed
with ijson's C backend. For a streamed top-level object the *first* value decides: an object means
"object of records" (a later non-object value is a record error); anything else means the file is one
record, which is then larger than ``small_file_bytes`` and is yielded as a :class:`BadRecord`.

Records are yielded as parsed values (normally ``dict``); the caller decides that a non-object is a record
error. Problems with the file as a whole (empty, not UTF-8, truncated, top-level scalar, nested deeper
than :data:`~producer.streams.MAX_DEPTH`, bad gzip) raise :class:`~schemas.errors.InputFileError` with a
byte offset; records already yielded stay yielded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import ijson
import orjson

from producer.streams import MAX_DEPTH, DepthGuard, InputStream, first_invalid_utf8
from schemas.errors import InputFileError

__all__ = ["BadRecord", "ReadOptions", "is_json_lines", "read_records"]

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_CHUNK = 64 * 1024


class BadRecord(NamedTuple):
    """A record that could not be parsed; ``raw`` is (the start of) its text for the rejected report."""

    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class ReadOptions:
    records_path: str | None = None
    small_file_bytes: int = 4 * 1024 * 1024
    max_line_bytes: int = 16 * 1024 * 1024
    max_depth: int = MAX_DEPTH


Item = tuple[str, Any]


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
                    BadRecord(f"line {line_no} is longer than {opts.max_line_bytes} bytes", _preview(line)),
                )
                continue
            try:
                record = loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.strip(_WHITESPACE):
                    continue  # blank lines separate nothing; skip them
                seen_any = True
                yield str(line_no), BadRecord(_line_error(line_no, line, exc), _preview(line))
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


def _line_error(line_no: int, line: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"line {line_no}: invalid UTF-8 at column {bad.start + 1} (byte {bad.start} of the line)"
    return f"line {line_no}: not valid JSON ({exc.msg} at column {exc.colno})"


def _preview(data: bytes, limit: int = 10_000) -> str:
    return data[:limit].decode("utf-8", "replace").rstrip("\r\n")


# --- JSON documents ---------------------------------------------------------------------------------


def _read_document(path: Path, opts: ReadOptions) -> Iterator[Item]:
    with InputStream(path) as stream:
        head, complete = _read_head(stream, opts.small_file_bytes + 1)
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
        else:
            yield from _streamed_document(path, stream, head, start, opts)


def _read_head(stream: InputStream, size: int) -> tuple[bytes, bool]:
    """Up to ``size`` bytes (BOM removed), and whether that is the whole stream."""
    parts: list[bytes] = []
    have = 0
    while have < size:
        chunk = stream.read(min(_CHUNK * 16, size - have))
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    head = b"".join(parts)
    complete = have < size
    return (head[3:] if head.startswith(_BOM) else head), complete


def _first_value_offset(data: bytes) -> int | None:
    stripped = data.lstrip(_WHITESPACE)
    return len(data) - len(stripped) if stripped else None


def _whole_document(data: bytes, start: int, unit: str, opts: ReadOptions) -> Iterator[Item]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _orjson_error(data, exc, unit) from None
    if opts.records_path:
        document = _descend(document, opts.records_path)
        yield from _container_items(document, opts.records_path, start, unit)
        return
    if isinstance(document, dict):
        if document and all(type(v) is dict for v in document.values()):
            yield from document.items()
        elif document:
            yield "0", document
        return
    yield from _container_items(document, None, start, unit)


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


def _orjson_error(data: bytes, exc: orjson.JSONDecodeError, unit: str) -> InputFileError:
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


# --- streaming (big documents) ----------------------------------------------------------------------


def _streamed_document(
    path: Path, stream: InputStream, head: bytes, start: int, opts: ReadOptions
) -> Iterator[Item]:
    """Stream with floats as ``float`` (fast); yajl refuses integers beyond 64 bits in that mode, so on such
    an overflow the file is parsed again with exact numbers, skipping the records already yielded."""
    yielded = 0
    try:
        for item in _streamed_items(path, stream, head, start, opts, exact=False):
            yield item
            yielded += 1
        return
    except _NumberOverflowError:
        log.info("file=%s event=number_overflow action=reparse_exact skip=%d", path.name, yielded)
    with InputStream(path) as again:
        head, _ = _read_head(again, len(head))
        items = _streamed_items(path, again, head, start, opts, exact=True)
        for _ in zip(range(yielded), items, strict=False):
            pass
        yield from items


class _NumberOverflowError(Exception):
    pass


def _streamed_items(
    path: Path, stream: InputStream, head: bytes, start: int, opts: ReadOptions, *, exact: bool
) -> Iterator[Item]:
    guard = DepthGuard(head, stream, lambda: _verify_depth(path, opts.max_depth), opts.max_depth)
    use_float = not exact
    first = head[start : start + 1]
    try:
        if opts.records_path:
            yield from _streamed_path(path, guard, opts.records_path, use_float)
        elif first == b"[":
            items = ijson.items(guard, "item", use_float=use_float, buf_size=_CHUNK)
            for index, record in enumerate(items):
                yield str(index), record
        elif first == b"{":
            yield from _streamed_object(guard, head, use_float)
        else:
            raise InputFileError(
                "the top-level value is not an object or an array",
                position=start,
                unit=stream.unit,
                hint="drop a JSON object, an array of objects, or JSON Lines",
            )
    except ijson.JSONError as exc:
        if not exact and "overflow" in str(exc):
            raise _NumberOverflowError from None
        raise _ijson_error(path, exc, guard.consumed, stream.unit) from None


def _streamed_object(source: DepthGuard, head: bytes, use_float: bool) -> Iterator[Item]:
    pairs = ijson.kvitems(source, "", use_float=use_float, buf_size=_CHUNK)
    for key, value in pairs:
        if type(value) is not dict:
            # The first value decides: this object is one record, far larger than a message may be.
            reason = "the file is one JSON object (not an object of records) larger than a message may be"
            yield "0", BadRecord(reason, _preview(head, 1000))
            return
        yield key, value
        break
    yield from pairs


def _streamed_path(path: Path, source: DepthGuard, dotted: str, use_float: bool) -> Iterator[Item]:
    kind = _container_kind(path, dotted)
    if kind == "start_array":
        items = ijson.items(source, f"{dotted}.item", use_float=use_float, buf_size=_CHUNK)
        for index, record in enumerate(items):
            yield str(index), record
    elif kind == "start_map":
        yield from ijson.kvitems(source, dotted, use_float=use_float, buf_size=_CHUNK)
    elif kind is None:
        raise InputFileError(
            f"records_path {dotted!r} not found in the file", hint="check producer.records_path"
        )
    else:
        raise InputFileError(
            f"records_path {dotted!r} points to a {kind}; expected an object or an array of records",
            hint="check producer.records_path",
        )


def _container_kind(path: Path, dotted: str) -> str | None:
    with InputStream(path) as stream:
        for prefix, event, _ in ijson.parse(stream):
            if prefix == dotted and event not in ("map_key", "end_map", "end_array"):
                return str(event)
    return None


def _verify_depth(path: Path, max_depth: int) -> None:
    """Raise InputFileError if ``path`` really nests deeper than ``max_depth`` (exact, slower scan)."""
    depth = 0
    with InputStream(path) as stream:
        try:
            for event, _ in ijson.basic_parse(stream, buf_size=_CHUNK):
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > max_depth:
                        raise InputFileError(
                            f"JSON nested deeper than {max_depth} levels",
                            position=stream.offset,
                            unit=stream.unit,
                            hint="flatten the data (the position is within the last 64 KiB read)",
                        )
                elif event in ("end_map", "end_array"):
                    depth -= 1
        except ijson.JSONError:
            return  # a syntax error: the main parse reports it with its position


def _ijson_error(path: Path, exc: Exception, consumed: int, unit: str) -> InputFileError:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "invalid bytes in UTF8" in message:
        offset = first_invalid_utf8(lambda: InputStream(path))
        return InputFileError(
            "the file is not valid UTF-8",
            position=offset if offset is not None else consumed,
            unit=unit,
            hint="re-export it as UTF-8 (JSON must be UTF-8)",
        )
    if "premature EOF" in message or "Incomplete JSON content" in message:
        return InputFileError(
            "truncated JSON (the file ends in the middle of a value)",
            position=consumed,
            unit=unit,
            hint="the copy was probably incomplete; drop the complete file again",
        )
    return InputFileError(
        f"not valid JSON ({message})",
        position=consumed,
        unit=unit,
        hint="fix the JSON (the position is the end of the 64 KiB block where the error is)",
    )
