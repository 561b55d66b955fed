"""One record's JSON text (or parsed value) → what is produced from it: the one rule every reading path
follows, whatever the file's size, shape or reader (DESIGN "Input files").

- **Integers** of any length are kept exactly as written; nothing turns an integer into a float.
- **Other numbers** are kept when they are within the range of a double (their value is the nearest
  double, which is how OpenSearch reads them); one outside it (``1e400``) rejects the *record*, with a
  reason naming the number and where it is.
- A **lone UTF-16 surrogate escape** (``"\\ud800"`` without a low surrogate after it, or a low one without
  a high one before it) in a key or a string rejects the *record*: it is not valid Unicode.

orjson reads every record exactly but for one thing it does silently: it rounds integers beyond 64 bits
to floats. It refuses the rest (numbers beyond a double, lone surrogates) with an error. So text is parsed
with orjson unless it is *rare*, i.e. may hold such an integer — the C scanner's flags say so
(:data:`RARE_FLAGS`, which also name the refused cases, to skip a failed attempt), or :func:`looks_rare`
(a run of 19 digits anywhere). Rare text, and text orjson refuses, is parsed with the standard library's
parser (integers exact, each non-integer's text at hand, lone surrogates kept) and then checked
(:func:`problem`). Both parsers give the same value for text orjson accepts and that is not rare, so the
route a record takes never changes what it becomes.
"""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from typing import Any

import orjson

from producer.read.records import MAX_DEPTH, BadRecord, preview

__all__ = [
    "RARE_FLAGS",
    "decode_value",
    "looks_rare",
    "parse_record",
    "parse_text",
    "position_problem",
    "problem",
    "render",
]

#: The C scanner's FLAG_BIG_INT | FLAG_BIG_EXP | FLAG_SURROGATE (a test checks they match).
RARE_FLAGS = 16 | 32 | 64

try:
    from producer.read.framing._jsonscan import has_long_number as _has_long_number
except ImportError:  # pragma: no cover - exercised where no C compiler was available at install
    _has_long_number = None  # type: ignore[assignment]

# Without the extension: digits become "0", everything else a space; then look for 19 zeros.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19

# The standard library's parser recurses once per level; records may nest MAX_DEPTH levels (as orjson
# and the scanner allow), so the limit must leave room for that and for the caller's frames.
if sys.getrecursionlimit() < MAX_DEPTH + 1000:
    sys.setrecursionlimit(MAX_DEPTH + 1000)


def looks_rare(text: bytes) -> bool:
    """Whether ``text`` may hold an integer beyond 64 bits: a run of 19 digits anywhere (strings too;
    that only sends the text the slower way, to the same result)."""
    if _has_long_number is not None:
        return _has_long_number(text)
    return _LONG_RUN in text.translate(_DIGITS_ONLY)


def _number(text: str) -> float | Decimal:
    value = float(text)
    return Decimal(text) if math.isinf(value) else value  # kept as text, for problem() to name


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_exact = json.JSONDecoder(parse_float=_number, parse_constant=_no_constant)


def parse_text(text: bytes | str, rare: bool) -> tuple[Any, bool]:
    """(``text`` as Python values, whether it was parsed exactly: only then may it break the rule, see
    :func:`problem`). Raises ``json.JSONDecodeError`` when it is not valid JSON: orjson's error, or the
    standard library's where orjson stopped earlier, at something it refuses (the same error whichever
    way the text went)."""
    if not rare:
        try:
            return orjson.loads(text), False
        except orjson.JSONDecodeError:
            pass  # refused: a number beyond a double, a lone surrogate, or not valid JSON
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        value = _exact.decode(decoded)
        deep_at = _too_deep_at(decoded) if _nests(text) > MAX_DEPTH else None
    except RecursionError:
        deep_at = _too_deep_at(decoded)
        if deep_at is None:  # pragma: no cover - only when the caller's own stack is very deep
            return orjson.loads(text), False
    except json.JSONDecodeError as exact_error:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if exc.pos >= exact_error.pos:
                raise  # the same error, in orjson's words (as for text that is not rare)
        raise exact_error from None
    except ValueError:  # not UTF-8, or a NaN/Infinity literal: orjson says why
        return orjson.loads(text), False
    if deep_at is not None:  # as orjson and the scanner refuse it
        raise json.JSONDecodeError("depth limit exceeded", decoded, deep_at)
    return value, True


def _nests(text: bytes | str) -> int:
    """An upper bound of how deep ``text`` nests (brackets in strings count too)."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


def _too_deep_at(text: str) -> int | None:
    """Where ``text`` (valid JSON) first opens a container deeper than MAX_DEPTH, or None."""
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        elif char in "]}":
            depth -= 1
    return None


def decode_value(text: str, index: int) -> tuple[Any, int]:
    """The JSON value starting at ``text[index]`` and the index after it, parsed as rare text is (not
    checked); raises ``json.JSONDecodeError``."""
    return _exact.raw_decode(text, index)


def parse_record(text: bytes, rare: bool) -> Any:
    """The value of one record's JSON text, or a :class:`BadRecord` when it breaks the rule. Raises
    ``orjson.JSONDecodeError`` when it is not valid JSON."""
    value, exact = parse_text(text, rare)
    if exact and (reason := problem(value)) is not None:
        return BadRecord(reason, preview(text))
    return value


def problem(value: Any) -> str | None:
    """Why ``value`` (as parsed from rare text, or by ijson with exact numbers) breaks the rule, naming
    the first offending number or string in file order; ``None`` when it does not."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is dict:
            for key, child in reversed(item.items()):
                stack.append((child, (*path, key)))
                stack.append((_Key(key), path))
        elif kind is list:
            stack.extend((child, (*path, index)) for index, child in reversed(list(enumerate(item))))
        elif kind is str or kind is _Key:
            text = item.key if kind is _Key else item
            if (code := _lone_surrogate(text)) is not None:
                if kind is _Key:
                    where = f"in the key {render(text)}" + (f" at {_where(path)}" if path else "")
                else:
                    where = f"at {_where(path)}"
                return f"lone surrogate escape \\u{code:04x} is not valid Unicode ({where})"
        elif kind is Decimal and math.isinf(float(item)):
            return (
                f"number {_show(item)} is outside the range of a double; OpenSearch cannot index it "
                f"(at {_where(path)})"
            )
    return None


def position_problem(position: str) -> str | None:
    """Why an object-of-records key (the record's position, part of its id) breaks the rule."""
    code = _lone_surrogate(position)
    if code is None:
        return None
    return f"lone surrogate escape \\u{code:04x} is not valid Unicode (in the record's key)"


def render(value: Any) -> str:
    """A rejected record as JSON text, for records whose own text is not at hand."""
    return json.dumps(value, default=_show)


class _Key:
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _lone_surrogate(text: str) -> int | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return ord(text[exc.start])
    return None


def _show(number: Any) -> str:
    text = format(number, "e") if isinstance(number, Decimal) else repr(number)
    return text if len(text) <= 40 else f"{text[:30]}...{text[-8:]}"


def _where(path: tuple[str | int, ...]) -> str:
    if not path:
        return "the top of the record"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return render(out) if _lone_surrogate(out) is not None else out
