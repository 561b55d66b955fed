"""CSV and TSV (``.csv``, ``.tsv``): a header row names the fields, every later row is one record;
position = the line the row starts on (the header is line 1, so the first record is usually ``2``).

- **Dialect**: the delimiter and the quote character are sniffed (:class:`csv.Sniffer`) from the first
  64 KiB, among ``, ; TAB |`` (a ``.tsv`` file: TAB); ``csv_delimiter`` / ``csv_quotechar`` override
  them per dataset. Quoting is RFC 4180: a quoted field may hold delimiters, doubled quotes and line
  breaks; a quote that is not closed by the end of the file is a file error.
- **Header**: the first row that is not blank. An empty name becomes ``column_<n>``, a repeated one
  ``<name>_<k>`` (:func:`~producer.read.format.csv_values.unique_names`; one INFO line says which).
- **Rows**: blank lines are skipped; a row with another number of fields than the header is a
  :class:`BadRecord` naming its line (the rest of the file goes on); the others become records by
  :mod:`producer.read.format.csv_values`, typed from the whole file: it is read twice (once to learn the
  column types, once to produce), each time in bounded memory (a field may be at most ``max_line_bytes``
  characters long).
- **Encoding**: UTF-8, with or without a BOM. Anything else (a UTF-16 byte order mark, bytes that are not
  UTF-8) raises :class:`~schemas.errors.InputFileError` with the byte offset, after the records before it.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import orjson

from producer.read.decompress import InputStream, first_invalid_utf8
from producer.read.format.csv_values import ColumnTypes, unique_names
from producer.read.records import BadRecord, Item, ReadOptions, preview
from schemas.errors import InputFileError

__all__ = ["read_csv"]

log = logging.getLogger(__name__)

_SAMPLE_CHARS = 64 * 1024
# rows whose types are learnt together (a regex per column over them all): so many, or so much text
_LEARN_ROWS, _LEARN_CHARS = 2048, 256 * 1024
_SNIFFED_DELIMITERS = ",;\t|"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_REEXPORT = "re-export it as UTF-8 (CSV and TSV files must be UTF-8, with or without a BOM)"


class _Dialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    doublequote = True
    skipinitialspace = False  # a space after the delimiter is part of the value
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = True  # a stray quote is an error, not a value read some other way


def read_csv(path: Path, opts: ReadOptions) -> Iterator[Item]:
    """Yield ``(position, record)`` for every row after the header (see the module docstring)."""
    is_tsv = path.name.removesuffix(".gz").endswith(".tsv")
    learnt = _learn_types(_rows(path, opts, is_tsv)) if opts.csv_types else None
    rows = _rows(path, opts, is_tsv)
    header = next(rows, None)
    if header is None:
        return
    names, renamed = unique_names(header[1])
    if renamed:
        shown = ", ".join(f"column {column} {old!r} as {new!r}" for column, old, new in renamed)
        log.info("file=%s event=csv_header_renamed columns=%r", path.name, shown)
        if opts.notes is not None:
            opts.notes.append(f"header columns renamed to be unique and non-empty: {shown}")
    types = learnt if learnt is not None else ColumnTypes(names, typed=False)
    width = len(names)
    for line, row in rows:
        if len(row) == width:
            yield str(line), types.record(row)
        else:
            reason = f"line {line}: {len(row)} fields, the header has {width}"
            yield str(line), BadRecord(reason, preview(orjson.dumps(row)))


def _learn_types(rows: Iterator[tuple[int, list[str]]]) -> ColumnTypes | None:
    """The column types of the whole file (its first reading), or None without a header row."""
    header = next(rows, None)
    if header is None:
        return None
    types = ColumnTypes(unique_names(header[1])[0])
    width = len(header[1])
    batch: list[list[str]] = []
    chars = 0
    try:
        for _, row in rows:
            if len(row) == width:
                batch.append(row)
                chars += sum(map(len, row))
                if chars >= _LEARN_CHARS or len(batch) == _LEARN_ROWS:
                    types.observe(batch)
                    batch.clear()
                    chars = 0
    except InputFileError:
        pass  # the second reading produces the rows before it, then raises it
    types.observe(batch)
    return types


def _rows(path: Path, opts: ReadOptions, is_tsv: bool) -> Iterator[tuple[int, list[str]]]:
    """``(line the row starts on, its fields)`` for every row that is not blank."""
    csv.field_size_limit(opts.max_line_bytes)  # an unclosed quote cannot take the rest of the file
    with InputStream(path) as stream:
        first = stream.read(2)
        if first in _UTF16_BOMS:
            raise InputFileError(
                "the file is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8",
                position=0,
                unit=stream.unit,
                hint=_REEXPORT,
            )
        raw = io.BufferedReader(_Raw(stream, first), 256 * 1024)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        start = 1
        try:
            sample = text.read(_SAMPLE_CHARS)
            if (nul := sample.find("\0")) >= 0:  # valid UTF-8, but no text: UTF-16 without a BOM, say
                raise InputFileError(
                    "the file holds NUL characters: it is probably UTF-16 (without a byte order mark) "
                    "or not text",
                    position=len(sample[:nul].encode("utf-8", "surrogatepass")),
                    unit=stream.unit,
                    hint=_REEXPORT,
                )
            reader = csv.reader(
                chain(io.StringIO(sample + _rest_of_line(text, sample), newline=""), text),
                _dialect(sample, opts, is_tsv),
            )
            start = reader.line_num + 1
            for row in reader:
                if row:
                    yield start, row
                start = reader.line_num + 1
        except UnicodeDecodeError:
            offset = first_invalid_utf8(lambda: InputStream(path))
            raise InputFileError(
                "the file is not valid UTF-8",
                position=offset if offset is not None else stream.offset,
                unit=stream.unit,
                hint=_REEXPORT,
            ) from None
        except csv.Error as exc:
            raise _csv_error(exc, start) from None


def _rest_of_line(text: io.TextIOWrapper, sample: str) -> str:
    """What completes the last line of ``sample`` (a line break ends a line: CR, LF or CR LF)."""
    if sample.endswith("\r"):
        after = text.read(1)
        return after if after in ("\n", "") else after + text.readline()
    return text.readline() if sample and not sample.endswith("\n") else ""


def _dialect(sample: str, opts: ReadOptions, is_tsv: bool) -> type[csv.Dialect]:
    """The file's dialect: sniffed from ``sample`` (its last line may be cut), unless the dataset says."""
    delimiter, quotechar = opts.csv_delimiter, opts.csv_quotechar
    if delimiter is None or quotechar is None:
        lines = sample.splitlines(keepends=True)
        whole = "".join(lines[:-1]) if len(lines) > 1 else sample
        try:
            sniffed = csv.Sniffer().sniff(whole, delimiters="\t" if is_tsv else _SNIFFED_DELIMITERS)
            delimiter = delimiter or sniffed.delimiter
            quotechar = quotechar or sniffed.quotechar or '"'
        except csv.Error:  # one column, or nothing it can tell from
            pass
    return type(
        "FileDialect",
        (_Dialect,),
        {"delimiter": delimiter or ("\t" if is_tsv else ","), "quotechar": quotechar or '"'},
    )


def _csv_error(exc: csv.Error, line: int) -> InputFileError:
    message = str(exc)
    if "field larger than field limit" in message:
        return InputFileError(
            f"a field from line {line} on is longer than {csv.field_size_limit()} characters",
            hint="a quote is probably not closed; fix the CSV",
        )
    if "unexpected end of data" in message:
        return InputFileError(
            f"the row that starts on line {line} has a quote that is not closed by the end of the file",
            hint="the copy may be incomplete, or a quote is not closed; fix the CSV",
        )
    return InputFileError(f"not valid CSV at line {line} ({message})", hint="fix the CSV")


class _Raw(io.RawIOBase):
    """An :class:`InputStream` as a raw binary stream, for :class:`io.TextIOWrapper`."""

    def __init__(self, stream: InputStream, first: bytes) -> None:
        self._stream = stream
        self._first = first  # read already, to look for a UTF-16 byte order mark

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data, self._first = self._first or self._stream.read(len(buffer)), b""
        buffer[: len(data)] = data
        return len(data)
