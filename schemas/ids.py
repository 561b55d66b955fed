"""Document-id rules: what makes every retry and re-run idempotent.

Contract (DESIGN "Document ids"):

- default id: ``<relative path>:<position>`` — position is the top-level key (object of records), the
  0-based index (arrays), or the 1-based line number (JSON Lines);
- with ``id_field``: the record's own field, a string or an integer (not a bool, not empty);
- any id longer than :data:`MAX_ID_BYTES` UTF-8 bytes (OpenSearch's limit) becomes
  ``<readable prefix>~sha256:<64 hex>``: the hash is of the whole original text, so it is stable across
  runs, and the prefix keeps it recognisable. The result is always at most :data:`MAX_ID_BYTES` bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["MAX_ID_BYTES", "IdFieldError", "bounded_id", "default_id", "field_id"]

MAX_ID_BYTES = 512
_HASH_MARK = "~sha256:"
# prefix budget: 512 - len("~sha256:") - 64 hex digits
_PREFIX_BYTES = MAX_ID_BYTES - len(_HASH_MARK) - 64


class IdFieldError(ValueError):
    """The record has no usable id field. A record-level error: the record is rejected, the file goes on."""


def bounded_id(text: str) -> str:
    """``text`` if it fits in :data:`MAX_ID_BYTES` UTF-8 bytes, else its stable hashed form."""
    # Fast path: a str of n code points encodes to at most 4n bytes.
    if len(text) * 4 <= MAX_ID_BYTES:
        return text
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= MAX_ID_BYTES:
        return text
    prefix = raw[:_PREFIX_BYTES].decode("utf-8", "ignore")  # drops a code point cut in half
    return f"{prefix}{_HASH_MARK}{hashlib.sha256(raw).hexdigest()}"


def default_id(relative_path: str, position: str | int) -> str:
    """``<relative path>:<position>``, bounded."""
    return bounded_id(f"{relative_path}:{position}")


def field_id(record: dict[str, Any], field: str) -> str:
    """The record's own id from ``field`` (string or integer), bounded.

    Raises :class:`IdFieldError` when the field is missing, empty, or not a string/integer.
    """
    try:
        value = record[field]
    except KeyError:
        raise IdFieldError(f"record has no id field {field!r}") from None
    if isinstance(value, str):
        if not value:
            raise IdFieldError(f"id field {field!r} is an empty string")
        return bounded_id(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise IdFieldError(f"id field {field!r} must be a string or an integer, not {type(value).__name__}")
