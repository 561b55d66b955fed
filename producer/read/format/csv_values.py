"""CSV format: the texts of one row become a record's values, typed the same way for every row of a file.

A column's type is decided from every value it has in the file (the framing reads the file once to learn
them, :meth:`ColumnTypes.observe`, then again to produce, :meth:`ColumnTypes.record`), so one file never
gives a field two types, and the first row never decides alone. Typing never alters a value: a column is

- **integer** when each of its values is an integer written the plain way (``-?`` digits, no leading
  zero, no ``+``, no spaces) that fits in 64 bits (an OpenSearch ``long``);
- else **decimal** when each is such an integer or a plain decimal (``12.50``, no exponent) whose double
  is that very number (``1.5``; not ``0.1000000000000000000001``): sent as a double (``1`` as ``1.0``);
- else **boolean** when each is ``true`` or ``false`` (any case);
- else **text**: every value as written (``007`` stays ``"007"``, ``1e5`` stays ``"1e5"``).

An empty value is the field's absence, in every column. With typing off (``csv_types = "text"``) every
value is text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from operator import call
from typing import Any

__all__ = ["ColumnTypes", "unique_names"]

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+\Z")
_INT64 = range(-(2**63), 2**63)
_EXACT_IN_A_DOUBLE = range(-(2**53), 2**53 + 1)

# What a value may be, as bits: a column keeps the bits every one of its values has.
_INT, _DEC, _BOOL = 1, 2, 4
_ANY = _INT | _DEC | _BOOL
_BOOLEANS = {"true": True, "false": False}

# Many values at once, one per line: plain integers, plain integers or decimals. A number of at most 15
# characters has at most 15 digits: a long, and exactly a double (DBL_DIG), so it needs no other check.
_INTEGER_LINES = re.compile(r"(?:-?(?:0|[1-9][0-9]*)\n)*-?(?:0|[1-9][0-9]*)")
_NUMBER_LINES = re.compile(r"(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?\n)*-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_SURELY_EXACT = 15


def _kinds(text: str) -> int:
    """The bits of what ``text`` may be read as without changing it."""
    if _INTEGER.match(text):
        number = int(text)
        return (_INT if number in _INT64 else 0) | (_DEC if number in _EXACT_IN_A_DOUBLE else 0)
    if _DECIMAL.match(text):
        return _DEC if Decimal(repr(float(text))) == Decimal(text) else 0
    return _BOOL if text.lower() in _BOOLEANS else 0


def _kinds_of_all(texts: list[str]) -> int:
    """The bits every one of ``texts`` has: a regex over them all for the common columns (numbers that are
    surely exact, booleans), else one by one (stopping at the first text that is only text)."""
    if not texts:
        return _ANY
    joined = "\n".join(texts)
    if joined.count("\n") == len(texts) - 1 and max(map(len, texts)) <= _SURELY_EXACT:
        if _INTEGER_LINES.fullmatch(joined):
            return _INT | _DEC
        if _NUMBER_LINES.fullmatch(joined):
            return _DEC
    if {text.lower() for text in texts} <= _BOOLEANS.keys():
        return _BOOL
    bits = _ANY
    for text in texts:
        bits &= _kinds(text)
        if not bits:
            break
    return bits


class _AnyCaseBooleans(dict[str, bool]):
    """``true``/``false`` in any case: the usual spellings at a dict's speed, the others lower-cased."""

    def __missing__(self, text: str) -> bool:
        return _BOOLEANS[text.lower()]


_as_boolean = _AnyCaseBooleans({**_BOOLEANS, "True": True, "False": False, "TRUE": True, "FALSE": False})


class ColumnTypes:
    """The types of a file's columns (see the module docstring): learnt, then applied."""

    def __init__(self, names: Sequence[str], *, typed: bool = True) -> None:
        self.names = tuple(names)
        self._seen = [_ANY if typed else 0] * len(self.names)
        self._convert: list[Any] | None = None

    def observe(self, rows: Sequence[Sequence[str]]) -> None:
        """Learn from some rows (each of as many values as there are names), column by column."""
        seen = self._seen
        for index, bits in enumerate(seen):
            if bits:
                seen[index] = bits & _kinds_of_all([text for row in rows if (text := row[index])])

    def kinds(self) -> dict[str, str]:
        """Each column's type by name: ``integer``, ``decimal``, ``boolean`` or ``text``."""
        return {name: _kind_name(bits) for name, bits in zip(self.names, self._seen, strict=True)}

    def record(self, row: Sequence[str]) -> dict[str, Any]:
        """The record of one row (of as many values as there are names): empty values left out.

        A row without empty values (the common case) is built by C-level calls alone (``dict``, ``zip``,
        ``map`` of the columns' converters: ``int``, ``float``, a dict's look-up, ``str``); a row with
        some takes a Python loop."""
        convert = self._convert
        if convert is None:
            convert = self._convert = [_converter(bits) for bits in self._seen]
        if "" not in row:
            return dict(zip(self.names, map(call, convert, row), strict=True))
        return {
            name: to_value(text)
            for name, to_value, text in zip(self.names, convert, row, strict=True)
            if text
        }


def _kind_name(bits: int) -> str:
    if bits == _ANY:
        return "text"  # no value at all: nothing to type
    if bits & _INT:
        return "integer"
    if bits & _DEC:
        return "decimal"
    return "boolean" if bits & _BOOL else "text"


def _converter(bits: int) -> Any:
    # str of a str is the same object: a text column's value is never altered
    return {"integer": int, "decimal": float, "boolean": _as_boolean.__getitem__}.get(_kind_name(bits), str)


def unique_names(header: Sequence[str]) -> tuple[list[str], list[tuple[int, str, str]]]:
    """The field names of a header row, each unique and non-empty, and the renamed ones as
    ``(1-based column, name in the header, name given)``. An empty name becomes ``column_<n>``; a name
    seen before becomes ``<name>_<k>`` (the first ``k`` from 2 that no column has)."""
    taken = {name for name in header if name}
    names: list[str] = []
    renamed: list[tuple[int, str, str]] = []
    first_seen: set[str] = set()
    for column, name in enumerate(header, start=1):
        if name and name not in first_seen:
            first_seen.add(name)
            names.append(name)
            continue
        base = name or f"column_{column}"
        given, k = base, 1
        while given in taken:
            k += 1
            given = f"{base}_{k}"
        taken.add(given)
        names.append(given)
        renamed.append((column, name, given))
    return names, renamed
