"""JSON Lines (``.jsonl``, ``.ndjson``): one record per non-blank line; position = 1-based line number.

A line that is not JSON, or longer than ``max_line_bytes``, is yielded as a :class:`BadRecord` (the file
goes on). With ``opts.splice`` and the C scanner built, a plain line is yielded as its finished message
value (``bytes``, see :mod:`producer.read.framing.json_scanner`); any other line is parsed by the rule of
:mod:`producer.read.format.json_values`. A file without a single record raises
:class:`~schemas.errors.InputFileError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson

from producer.read.decompress import InputStream
from producer.read.format.json_values import RARE_FLAGS, looks_rare, parse_record
from producer.read.framing import json_scanner as scan
from producer.read.records import BadRecord, Item, ReadOptions, preview
from schemas.errors import InputFileError

__all__ = ["read_lines"]

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


def read_lines(path: Path, opts: ReadOptions) -> Iterator[Item]:
    """Yield ``(position, record)`` for every line that holds one (see the module docstring)."""
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
