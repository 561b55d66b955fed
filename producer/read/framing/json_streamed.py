"""Streaming big JSON documents (bigger than ``small_file_bytes``) with ijson, when the C scanner is not
built or ``records_path`` is set.

Called by :mod:`producer.read.framing.json_document`; see its module docstring for the shapes and
positions. The rule of :mod:`producer.read.format.json_values` holds here too. ijson's C backend is fast
but not exact everywhere: it parses floats as ``float`` (it refuses integers beyond 64 bits and numbers
beyond a double's range in that mode), and it turns a lone surrogate escape into ``?`` (or fails on it).
So a file is read in the fastest mode that reads it exactly, and parsed again from the start, skipping the
records already yielded, when a chunk shows that it needs a slower one: exact numbers (``Decimal``) after
an overflow, the pure-Python backend (exact strings) before a lone surrogate escape. Records read in the
slower modes are checked by the rule.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from enum import IntEnum
from pathlib import Path
from types import ModuleType
from typing import Any

import ijson

from producer.read.decompress import InputStream, first_invalid_utf8, read_head
from producer.read.format.json_values import position_problem, problem, render
from producer.read.records import CUT_FILE_HINT, BadRecord, Item, OneRecord, ReadOptions
from schemas.errors import InputFileError

__all__ = ["DepthGuard", "depth_bound", "may_hold_lone_surrogate", "streamed_document"]

log = logging.getLogger("producer.streamed")  # the name it had before the move: logs are filtered by it

_CHUNK = 64 * 1024
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class _Mode(IntEnum):
    FAST = 0  # yajl, floats as float
    EXACT_NUMBERS = 1  # yajl, non-integers as Decimal
    EXACT = 2  # the pure-Python backend, non-integers as Decimal (keeps lone surrogates)


class _NeedsSlowerMode(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, mode: _Mode) -> None:
        super().__init__(mode.name)
        self.mode = mode


def streamed_document(
    path: Path, stream: InputStream, head: bytes, start: int, opts: ReadOptions
) -> Iterator[Item]:
    """The records of the document (see the module docstring for the modes)."""
    yielded, mode = 0, _Mode.FAST
    with contextlib.ExitStack() as reopened:
        while True:
            items = _streamed_items(path, stream, head, start, opts, mode=mode)
            try:
                for _ in zip(range(yielded), items, strict=False):
                    pass  # read again, already yielded
                for item in items:
                    yield item
                    yielded += 1
                return
            except _NeedsSlowerMode as exc:
                mode = exc.mode  # always slower than the mode that raised it
                log.info("file=%s event=reparse mode=%s skip=%d", path.name, mode.name.lower(), yielded)
            stream = reopened.enter_context(InputStream(path))
            head, _ = read_head(stream, len(head))


class _SurrogateWatch:
    """A ``read()`` source that stops a yajl parse before it reads a lone surrogate escape (see the module
    docstring); pairs, which yajl reads correctly, pass. The last bytes of each read are held back until
    the next one, so that an escape at the end is judged with what follows it."""

    def __init__(self, source: DepthGuard) -> None:
        self._source = source
        self._held = b""
        self._tail = b""  # the last bytes handed out: for what comes before an escape

    def read(self, size: int = _CHUNK) -> bytes:
        data = self._held
        while True:
            more = self._source.read(size)
            data += more
            if not more or len(data) > _HOLD:
                break
        out, self._held = (data[:-_HOLD], data[-_HOLD:]) if more else (data, b"")
        if b"\\u" in data:
            buf = self._tail + data
            if may_hold_lone_surrogate(buf, len(self._tail), len(self._tail) + len(out)):
                raise _NeedsSlowerMode(_Mode.EXACT)
        self._tail = (self._tail + out)[-_TAIL:]
        return out


_HOLD = 12  # a surrogate pair is 12 bytes
_TAIL = 32
_HIGH = frozenset(b"89abAB")
_LOW = frozenset(b"cdefCDEF")


def may_hold_lone_surrogate(buf: bytes, start: int, end: int) -> bool:
    """Whether a surrogate escape starting in ``buf[start:end]`` may be lone: not a high one right before
    a low one, nor a low one right after a high one. Conservative where ``buf`` cannot tell (the
    backslashes before it reach back to the start of ``buf``, or it ends before the partner could be
    seen): a wrong True only costs speed."""
    for match in _SURROGATE_ESCAPE.finditer(buf, start):
        at = match.start()
        if at >= end:
            break
        escape = _is_escape(buf, at)
        if escape is None:
            return True
        if not escape:
            continue  # an escaped backslash followed by text, not an escape
        if buf[at + 3] in _HIGH:
            after = buf[at + 6 : at + 10]
            if len(after) < 4 or after[:2] != b"\\u" or after[2] not in b"dD" or after[3] not in _LOW:
                return True
        elif not (
            at >= 6 and buf[at - 6 : at - 4] == b"\\u" and buf[at - 4] in b"dD" and buf[at - 3] in _HIGH
        ):
            return True  # a low surrogate not right after a high one
        elif not _is_escape(buf, at - 6):
            return True
    return False


def _is_escape(buf: bytes, at: int) -> bool | None:
    """Whether the backslash at ``buf[at]`` starts an escape (an even run of backslashes before it);
    None when that run reaches back to the start of ``buf``."""
    before = at
    while before > 0 and buf[before - 1] == 0x5C:
        before -= 1
    if before == 0:
        return None
    return (at - before) % 2 == 0


def _streamed_items(
    path: Path, stream: InputStream, head: bytes, start: int, opts: ReadOptions, *, mode: _Mode
) -> Iterator[Item]:
    guard = DepthGuard(head, stream, lambda: _verify_depth(path, opts.max_depth), opts.max_depth)
    source: DepthGuard | _SurrogateWatch = guard if mode == _Mode.EXACT else _SurrogateWatch(guard)
    backend: Any = ijson.get_backend("python") if mode == _Mode.EXACT else ijson
    use_float = mode == _Mode.FAST
    first = head[start : start + 1]
    try:
        if opts.records_path:
            items = _streamed_path(path, backend, source, opts.records_path, use_float)
        elif first == b"[":
            records = backend.items(source, "item", use_float=use_float, buf_size=_CHUNK)
            items = ((str(index), record) for index, record in enumerate(records))
        elif first == b"{":
            items = _streamed_object(backend, source, use_float)
        else:
            raise InputFileError(
                "the top-level value is not an object or an array",
                position=start,
                unit=stream.unit,
                hint="drop a JSON object, an array of objects, or JSON Lines",
            )
        if mode == _Mode.FAST:
            yield from items  # yajl read them exactly, or stopped with an overflow
            return
        for position, record in items:
            reason = position_problem(position) or problem(record)
            yield position, record if reason is None else BadRecord(reason, render(record))
    except ijson.JSONError as exc:
        if mode == _Mode.FAST and "overflow" in str(exc):
            raise _NeedsSlowerMode(_Mode.EXACT_NUMBERS) from None
        raise _ijson_error(path, exc, guard.consumed, stream.unit) from None


def _streamed_object(backend: ModuleType, source: Any, use_float: bool) -> Iterator[Item]:
    pairs = backend.kvitems(source, "", use_float=use_float, buf_size=_CHUNK)
    for key, value in pairs:
        if type(value) is not dict:
            raise OneRecord  # the first value decides: the document is one record
        yield key, value
        break
    yield from pairs


def _streamed_path(path: Path, backend: Any, source: Any, dotted: str, use_float: bool) -> Iterator[Item]:
    kind = _container_kind(path, dotted)
    if kind == "start_array":
        items = backend.items(source, f"{dotted}.item", use_float=use_float, buf_size=_CHUNK)
        for index, record in enumerate(items):
            yield str(index), record
    elif kind == "start_map":
        yield from backend.kvitems(source, dotted, use_float=use_float, buf_size=_CHUNK)
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
    for backend in (ijson, ijson.get_backend("python")):
        with InputStream(path) as stream:
            try:
                for prefix, event, _ in backend.parse(stream):
                    if prefix == dotted and event not in ("map_key", "end_map", "end_array"):
                        return str(event)
            except UnicodeDecodeError:
                continue  # yajl fails on a lone low surrogate escape; the pure-Python backend does not
        return None
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
        except (ijson.JSONError, UnicodeDecodeError):
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
            hint=CUT_FILE_HINT,
        )
    return InputFileError(
        f"not valid JSON ({message})",
        position=consumed,
        unit=unit,
        hint="fix the JSON (the position is the end of the 64 KiB block where the error is)",
    )


class DepthGuard:
    """A ``read()`` source for ijson that refuses JSON nested deeper than ``max_depth``.

    Brackets per chunk (ignoring strings) give a cheap upper bound of the depth (:func:`depth_bound`). When
    the bound passes ``max_depth``, ``verify()`` computes the exact depth from a fresh stream; it raises
    :class:`InputFileError` if the file really is too deep, otherwise the guard switches itself off (the
    bound was inflated by brackets inside strings).
    """

    def __init__(self, head: bytes, stream: InputStream, verify: Callable[[], None], max_depth: int) -> None:
        self._pending = head
        self._pending_at = 0  # offset into head: slicing off the front each time would copy it all
        self._stream = stream
        self._verify = verify
        self._max_depth = max_depth
        self._bound = 0
        self._checking = True
        self.consumed = 0

    def read(self, size: int = _CHUNK) -> bytes:
        if self._pending_at < len(self._pending):
            data = self._pending[self._pending_at : self._pending_at + size]
            self._pending_at += len(data)
        else:
            data = self._stream.read(size)
        if self._checking:
            peak, self._bound = depth_bound(data, self._bound, self._max_depth)
            if peak > self._max_depth:
                self._verify()
                self._checking = False
        self.consumed += len(data)
        return data


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_MATCHED_PAIR = re.compile(rb"\[\]|\{\}")


def depth_bound(data: bytes, before: int, limit: int) -> tuple[int, int]:
    """(upper bound of the deepest nesting inside ``data``, bound of the depth after it).

    ``before`` is the bound of the depth where ``data`` starts. Brackets inside strings only ever make the
    bound larger (extra closing brackets are clamped at depth 0), so the bound is safe. Runs at C speed:
    the matched pairs are peeled level by level with a regex, at most ``limit + 1`` times.
    """
    brackets = data.translate(None, _NOT_BRACKETS)  # one C pass; what is left is small
    opens = brackets.count(b"[") + brackets.count(b"{")
    if before + opens <= limit:  # the common case: already safe
        return before + opens, max(0, before + opens - (len(brackets) - opens))
    levels = 0
    while brackets:
        brackets, peeled = _MATCHED_PAIR.subn(b"", brackets)
        if not peeled:
            break
        levels += 1
        if levels > limit:
            return before + levels, before + levels
    closes = len(brackets) - len(brackets.lstrip(b"]}"))
    opens = len(brackets) - closes
    return before + levels + opens, max(0, before - closes) + opens
