"""Streaming big JSON documents (bigger than ``small_file_bytes``) with ijson's C backend.

Called by :func:`producer.reader.read_records`; see its module docstring for the shapes and positions.
Floats are parsed as ``float`` (fast); yajl refuses integers beyond 64 bits in that mode, so on such an
overflow the document is parsed again with exact numbers, skipping the records already yielded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import ijson

from producer.records import BadRecord, Item, ReadOptions, preview
from producer.streams import DepthGuard, InputStream, first_invalid_utf8, read_head
from schemas.errors import InputFileError

__all__ = ["streamed_document"]

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


def streamed_document(
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
        head, _ = read_head(again, len(head))
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
            yield "0", BadRecord(reason, preview(head, 1000))
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
