"""Big arrays and objects of records cut into raw record bytes by the C scanner (``_jsonscan``, next to
this file).

The engine of :mod:`producer.read.framing.json_document` for streamed documents (bigger than
``small_file_bytes``, no ``records_path``) when the extension is importable (:data:`AVAILABLE`);
otherwise the ijson path in :mod:`producer.read.framing.json_streamed` is used. Both yield the same
items, in the same order, with the same positions. Small documents use :func:`scanned_whole` where it
can, else the orjson path of the document framing.

The scanner validates every byte against the JSON grammar (RFC 8259, strict UTF-8, nesting limited to
``max_depth``) without building Python objects. The file is read in chunks; the incomplete value at the
end of a chunk is carried over to the next one (a record bigger than a chunk grows the buffer, doubling,
so memory is bounded by the largest record, not the file).

What each record becomes:

- with ``opts.splice = (field, source)``, a record that is an object whose top-level keys are all free of
  escapes and distinct, do not include ``field``, and that holds no number that may be outside the range
  of a double and no lone surrogate escape, is yielded as ``bytes``: its finished message value,
  ``{"<field>":"<source>",`` followed by the record's own text after its ``{`` (no parse, no
  re-serialization; parses to the same JSON object as the record plus the field; integers of any length
  stay exactly as written);
- any other record is parsed by the rule of :mod:`producer.read.format.json_values` (the scanner's
  flags say which parser reads it exactly) and yielded as the parsed value, or as a :class:`BadRecord`
  when it breaks the rule.

A top-level object whose first value is not an object is one record: :class:`OneRecord` is raised for
the reader to read it whole.

File errors are :class:`~schemas.errors.InputFileError` positioned at the exact offending byte (offsets in
the file without its BOM), raised after yielding every record complete before it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import orjson

from producer.read.decompress import InputStream
from producer.read.format.json_values import RARE_FLAGS, parse_record, parse_text, position_problem
from producer.read.records import CUT_FILE_HINT, BadRecord, Item, OneRecord, ReadOptions, preview
from schemas.errors import InputFileError

try:
    from producer.read.framing import _jsonscan as jsonscan
except ImportError:  # pragma: no cover - exercised where no C compiler was available at install
    jsonscan = None  # type: ignore[assignment]

__all__ = [
    "AVAILABLE",
    "line_scanner",
    "log_reading_path",
    "scanned_document",
    "scanned_whole",
]

log = logging.getLogger("producer.scan")  # the name it had before the move: logs are filtered by it

#: Whether the C scanner can be used (else the pure-Python ijson path is).
AVAILABLE = jsonscan is not None
_CHUNK = 1024 * 1024
_WHITESPACE = b" \t\r\n"
_logged = False


def log_reading_path() -> None:
    """Log, once per process, which reader big documents go through."""
    global _logged  # noqa: PLW0603 - a once-per-process flag
    if not _logged:
        _logged = True
        if AVAILABLE:
            log.info("event=reader_path path=c_scanner module=producer.read.framing._jsonscan")
        else:
            log.warning("event=reader_path path=ijson reason=producer.read.framing._jsonscan_not_built")


def splice_parts(splice: tuple[str, str] | None) -> tuple[bytes | None, bytes | None]:
    """(field name as UTF-8, ``"<field>":"<source>"`` as JSON) for the scanner, or (None, None)."""
    if splice is None:
        return None, None
    field, source = splice
    try:
        member = orjson.dumps(field) + b":" + orjson.dumps(source)
    except orjson.JSONEncodeError:  # a name with lone surrogates (non-UTF-8 file names)
        member = f"{json.dumps(field)}:{json.dumps(source)}".encode("ascii")
    return field.encode("utf-8", "surrogatepass"), member


def line_scanner(opts: ReadOptions) -> Callable[[bytes], bytes | int] | None:
    """For JSON Lines with ``opts.splice``: a function from one line to its finished message value, or
    to the flags of the value it holds (the caller parses it), or to -1 when it is blank or not one valid
    JSON value; None without the extension or without ``opts.splice`` (every line is parsed)."""
    field, member = splice_parts(opts.splice)
    if jsonscan is None or not AVAILABLE or member is None:
        return None
    return partial(jsonscan.scan_line, opts.max_depth, field, member)


def scanned_document(stream: InputStream, head: bytes, start: int, opts: ReadOptions) -> Iterator[Item]:
    """The records of the array or object starting at ``head[start]`` (``[`` or ``{``); see the module
    docstring. ``head`` is what was read of ``stream`` so far (BOM removed)."""
    assert jsonscan is not None
    scan_items, max_depth, loads = jsonscan.scan_items, opts.max_depth, orjson.loads
    flag_object = jsonscan.FLAG_OBJECT
    is_object = head[start : start + 1] == b"{"
    field, member = splice_parts(opts.splice)
    buf, pos, base, first, eof, count = head, start + 1, 0, True, False, 0
    while True:
        items, pos, first, status, error_at = scan_items(
            buf, pos, is_object, first, eof, max_depth, field, member
        )
        for key, spliced, begin, end, flags in items:
            if spliced is not None:
                record: Any = spliced
            else:  # not spliced (a spliced record is an object): parsed by the rule
                if is_object and count == 0 and not flags & flag_object:
                    raise OneRecord  # the first value decides: the document is one record
                raw = buf[begin:end]
                record = loads(raw) if not flags & RARE_FLAGS else parse_record(raw, True)
            if is_object:
                if type(key) is str:
                    position = key
                else:
                    position = _escaped_key(key)
                    if (reason := position_problem(position)) is not None:
                        record = BadRecord(reason, preview(buf[begin:end]))
            else:
                position = str(count)
            count += 1
            yield position, record
        if status == jsonscan.DONE:
            _check_trailing(stream, buf, pos, base)
            return
        if status != jsonscan.INCOMPLETE:
            raise scan_error(status, base + error_at, buf[error_at : error_at + 1], stream.unit, max_depth)
        if eof:
            raise truncated(base + len(buf), stream.unit)
        more = stream.read(max(_CHUNK, len(buf) - pos))  # a record bigger than a chunk doubles the buffer
        eof = not more
        buf, base, pos = buf[pos:] + more, base + pos, 0


def scanned_whole(data: bytes, start: int, opts: ReadOptions) -> list[Item] | None:
    """The records of a small document held in memory, as :func:`scanned_document` would give them, or
    ``None`` when the document must go through the reader's parsing path instead: anything but a valid
    array or object of records (errors, whose records before the error the reader salvages; an object
    that is one record), ``records_path``, and repeated top-level keys (a parsed object keeps the last
    value)."""
    if jsonscan is None or opts.records_path or data[start : start + 1] not in (b"[", b"{"):
        return None
    is_object = data[start : start + 1] == b"{"
    field, member = splice_parts(opts.splice)
    items, pos, _, status, _ = jsonscan.scan_items(
        data, start + 1, is_object, True, True, opts.max_depth, field, member
    )
    if status != jsonscan.DONE or data[pos:].strip(_WHITESPACE):
        return None
    loads = orjson.loads
    records = [
        value
        if value is not None
        else loads(data[begin:end])
        if not flags & RARE_FLAGS
        else parse_record(data[begin:end], True)
        for _, value, begin, end, flags in items
    ]
    if not is_object:
        return [(str(index), record) for index, record in enumerate(records)]
    keys = [key if type(key) is str else _escaped_key(key) for key, *_ in items]
    if len(set(keys)) != len(keys):
        return None
    if items and not items[0][4] & jsonscan.FLAG_OBJECT:
        return None  # the first value decides: one record, which the reader reads whole
    for index, (key, _, begin, end, _) in enumerate(items):
        if type(key) is bytes and (reason := position_problem(keys[index])) is not None:
            records[index] = BadRecord(reason, preview(data[begin:end]))
    return list(zip(keys, records, strict=True))


def _escaped_key(key: str | bytes | None) -> str:
    """An object-of-records key that has escapes (its raw text, quotes included), decoded."""
    position, _ = parse_text(key or b"", True)
    assert type(position) is str
    return position


def _check_trailing(stream: InputStream, buf: bytes, pos: int, base: int) -> None:
    """Only whitespace may follow the document."""
    while True:
        rest = buf[pos:].lstrip(_WHITESPACE)
        if rest:
            at = base + len(buf) - len(rest)
            raise InputFileError(
                f"not valid JSON ({_describe(rest[:1])} after the end of the document)",
                position=at,
                unit=stream.unit,
                hint="fix the JSON (a file holds one document, or use JSON Lines)",
            )
        base += len(buf)
        buf, pos = stream.read(_CHUNK), 0
        if not buf:
            return


def truncated(position: int, unit: str) -> InputFileError:
    return InputFileError(
        "truncated JSON (the file ends in the middle of a value)",
        position=position,
        unit=unit,
        hint=CUT_FILE_HINT,
    )


def scan_error(status: int, position: int, byte: bytes, unit: str, max_depth: int) -> InputFileError:
    """The :class:`InputFileError` for a scanner error ``status`` at ``position`` (the offending byte)."""
    assert jsonscan is not None
    if status == jsonscan.ERR_UTF8:
        return InputFileError(
            "the file is not valid UTF-8",
            position=position,
            unit=unit,
            hint="re-export it as UTF-8 (JSON must be UTF-8)",
        )
    if status == jsonscan.ERR_DEPTH:
        return InputFileError(
            f"JSON nested deeper than {max_depth} levels",
            position=position,
            unit=unit,
            hint="flatten the data",
        )
    what = {
        jsonscan.ERR_CONTROL: "a control character inside a string must be escaped",
        jsonscan.ERR_ESCAPE: "invalid escape sequence in a string",
        jsonscan.ERR_NUMBER: "malformed number",
    }.get(status, f"unexpected {_describe(byte)}")
    return InputFileError(f"not valid JSON ({what})", position=position, unit=unit, hint="fix the JSON")


def _describe(byte: bytes) -> str:
    if 0x20 < byte[0] < 0x7F:
        return f"character {byte.decode()!r}"
    return f"byte 0x{byte[0]:02x}"
