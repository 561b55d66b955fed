"""Big arrays and objects of records cut into raw record bytes by the C scanner (``producer._jsonscan``).

Called by :func:`producer.reader.read_records` for streamed documents (bigger than ``small_file_bytes``,
no ``records_path``) when the extension is importable (:data:`AVAILABLE`); otherwise the ijson path in
:mod:`producer.streamed` is used. Both yield the same items, in the same order, with the same positions.
Small documents use :func:`scanned_whole` where it gives what orjson would, else orjson.

The scanner validates every byte against the JSON grammar (RFC 8259, strict UTF-8, nesting limited to
``max_depth``) without building Python objects. The file is read in chunks; the incomplete value at the
end of a chunk is carried over to the next one (a record bigger than a chunk grows the buffer, doubling,
so memory is bounded by the largest record, not the file).

What each record becomes:

- with ``opts.splice = (field, source)``, a record that is an object whose top-level keys are all free of
  escapes and distinct, and do not include ``field``, is yielded as ``bytes``: its finished message value,
  ``{"<field>":"<source>",`` followed by the record's own text after its ``{`` (no parse, no
  re-serialization; parses to the same JSON object as the record plus the field);
- any other record is parsed (orjson; the stdlib ``json`` for integers beyond 64 bits, which orjson would
  round, and for what orjson refuses, such as lone surrogate escapes) and yielded as the parsed value.

File errors are :class:`~schemas.errors.InputFileError` positioned at the exact offending byte (offsets in
the file without its BOM), raised after yielding every record complete before it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import orjson

from producer.records import BadRecord, Item, ReadOptions, preview
from producer.streams import InputStream
from schemas.errors import InputFileError

try:
    from producer import _jsonscan as jsonscan
except ImportError:  # pragma: no cover - exercised where no C compiler was available at install
    jsonscan = None  # type: ignore[assignment]

__all__ = [
    "AVAILABLE",
    "line_splicer",
    "log_reading_path",
    "parse_record",
    "scanned_document",
    "scanned_whole",
]

log = logging.getLogger(__name__)

#: Whether the C scanner can be used (else the pure-Python ijson path is).
AVAILABLE = jsonscan is not None
_CHUNK = 1024 * 1024
_WHITESPACE = b" \t\r\n"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_logged = False


def log_reading_path() -> None:
    """Log, once per process, which reader big documents go through."""
    global _logged  # noqa: PLW0603 - a once-per-process flag
    if not _logged:
        _logged = True
        if AVAILABLE:
            log.info("event=reader_path path=c_scanner module=producer._jsonscan")
        else:
            log.warning("event=reader_path path=ijson reason=producer._jsonscan_not_built")


def parse_record(raw: bytes, exact: bool = False) -> Any:
    """One record's JSON text as Python values. ``exact``: the text may hold integers beyond 64 bits, which
    must stay exact (orjson would round them to floats), so the stdlib parser is used."""
    if not exact:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # e.g. a lone surrogate escape, which the grammar allows
    return json.loads(raw)


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


def line_splicer(opts: ReadOptions) -> Callable[[bytes], bytes | None] | None:
    """For JSON Lines with ``opts.splice``: a function from one line to its finished message value, or
    to None when the line must be parsed as before (blank, not an object, invalid, or anything the
    scanner is unsure of); None when there is no splicing (no ``opts.splice`` or no extension)."""
    field, member = splice_parts(opts.splice)
    if jsonscan is None or not AVAILABLE or field is None or member is None:
        return None
    return partial(jsonscan.splice_line, opts.max_depth, field, member)


def scanned_document(stream: InputStream, head: bytes, start: int, opts: ReadOptions) -> Iterator[Item]:
    """The records of the array or object starting at ``head[start]`` (``[`` or ``{``); see the module
    docstring. ``head`` is what was read of ``stream`` so far (BOM removed)."""
    assert jsonscan is not None
    scan_items, max_depth = jsonscan.scan_items, opts.max_depth
    flag_object, flag_big = jsonscan.FLAG_OBJECT, jsonscan.FLAG_BIG_INT | jsonscan.FLAG_BIG_EXP
    is_object = head[start : start + 1] == b"{"
    field, member = splice_parts(opts.splice)
    buf, pos, base, first, eof, count = head, start + 1, 0, True, False, 0
    while True:
        items, pos, first, status, error_at = scan_items(
            buf, pos, is_object, first, eof, max_depth, field, member
        )
        for key, value, begin, end, flags in items:
            if is_object:
                if count == 0 and not flags & flag_object:
                    # The first value decides: this object is one record, far larger than a message may be.
                    reason = (
                        "the file is one JSON object (not an object of records) larger than a message may be"
                    )
                    yield "0", BadRecord(reason, preview(head, 1000))
                    return
                position = key if isinstance(key, str) else str(parse_record(key or b""))
            else:
                position = str(count)
            count += 1
            yield (
                position,
                value if value is not None else parse_record(buf[begin:end], bool(flags & flag_big)),
            )
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
    ``None`` when the document must go through the orjson path instead, which then decides exactly as it
    always did: anything but a clean array or object of objects (errors, one-record objects, repeated
    top-level keys) and what orjson reads differently from the scanner (integers beyond 64 bits, which
    it rounds; exponents of 3+ digits, which may overflow; UTF-16 surrogate escapes, which it refuses
    when unpaired)."""
    if jsonscan is None or opts.records_path or data[start : start + 1] not in (b"[", b"{"):
        return None
    is_object = data[start : start + 1] == b"{"
    field, member = splice_parts(opts.splice)
    items, pos, _, status, _ = jsonscan.scan_items(
        data, start + 1, is_object, True, True, opts.max_depth, field, member
    )
    if status != jsonscan.DONE or data[pos:].strip(_WHITESPACE):
        return None
    orjson_differs = jsonscan.FLAG_BIG_INT | jsonscan.FLAG_BIG_EXP | jsonscan.FLAG_SURROGATE
    if any(flags & orjson_differs for *_, flags in items):
        return None
    if any(type(key) is bytes and _SURROGATE_ESCAPE.search(key) for key, *_ in items):
        return None  # a top-level key with a surrogate escape
    if is_object:
        if not all(flags & jsonscan.FLAG_OBJECT for *_, flags in items):
            return None  # one record (or a map with a non-object value): orjson's rule decides
        keys = [key if isinstance(key, str) else str(parse_record(key or b"")) for key, *_ in items]
        if len(set(keys)) != len(keys):
            return None  # repeated top-level keys: a parsed object keeps the last value of each
        return [
            (key, value if value is not None else parse_record(data[begin:end]))
            for key, (_, value, begin, end, _) in zip(keys, items, strict=True)
        ]
    return [
        (str(index), value if value is not None else parse_record(data[begin:end]))
        for index, (_, value, begin, end, _) in enumerate(items)
    ]


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
        hint="the copy was probably incomplete; drop the complete file again",
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
