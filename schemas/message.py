"""The wire format of one record message (contract; change only with a migration note).

- **key**: the document id (:mod:`schemas.ids`), UTF-8.
- **value**: the record as a UTF-8 JSON object plus the source field (default ``source``) holding the
  input file's path relative to the inbox, ``/``-separated. A record that already has the field is handled
  by ``source_conflict``: ``overwrite`` (default), ``keep`` (the record's own value wins) or ``reject``
  (a record error).
- **headers** (informational only; nothing may need them to index correctly): :data:`HEADER_SOURCE`,
  :data:`HEADER_FILE_SHA256`, :data:`HEADER_POSITION`.

:class:`MessageValue` models the value envelope; its JSON Schema is committed as
``schemas/message-value.schema.json`` and regenerated with ``python -m schemas.message``.
"""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "HEADER_FILE_SHA256",
    "HEADER_POSITION",
    "HEADER_SOURCE",
    "VALUE_SCHEMA_PATH",
    "FileHeaders",
    "Headers",
    "MessageValue",
    "RecordError",
    "encode_value",
    "message_headers",
    "value_json_schema",
]

HEADER_SOURCE = "spoolbridge-source"
HEADER_FILE_SHA256 = "spoolbridge-file-sha256"
HEADER_POSITION = "spoolbridge-position"

VALUE_SCHEMA_PATH = Path(__file__).with_name("message-value.schema.json")

SourceConflict = Literal["overwrite", "keep", "reject"]
Headers = list[tuple[str, str | bytes | None]]


class RecordError(ValueError):
    """One record cannot become a message (the file goes on; the record goes to the rejected report)."""


class MessageValue(BaseModel):
    """The value of a record message: any JSON object, plus the source field.

    The field is named ``source`` unless ``producer.source_field`` says otherwise.
    """

    model_config = ConfigDict(
        extra="allow",
        title="spoolbridge message value",
        json_schema_extra={
            "description": (
                "Kafka message value written by the spoolbridge producer: one input record (a JSON object) "
                "plus the source field. Key = document id. Headers (informational): "
                f"{HEADER_SOURCE}, {HEADER_FILE_SHA256}, {HEADER_POSITION}. A null value (tombstone) "
                "deletes the document with that id."
            )
        },
    )

    source: str = Field(
        description="path of the input file relative to the inbox, '/'-separated",
        examples=["steam/games.json"],
    )


def value_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`MessageValue`, as committed in :data:`VALUE_SCHEMA_PATH`."""
    schema = MessageValue.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def render_value_schema() -> str:
    """The exact text of the committed schema file."""
    return json.dumps(value_json_schema(), indent=2, sort_keys=True) + "\n"


def encode_value(
    record: dict[str, Any], source_field: str, source: str, conflict: SourceConflict = "overwrite"
) -> bytes:
    """The message value for ``record`` as UTF-8 JSON, serialized once.

    ``record`` is modified in place (the source field is set). Raises :class:`RecordError` when
    ``conflict == "reject"`` and the record has the field, or when the record cannot be serialized
    (nested too deeply).
    """
    if source_field in record:
        if conflict == "reject":
            raise RecordError(f"record already has the source field {source_field!r}")
        if conflict == "overwrite":
            record[source_field] = source
    else:
        record[source_field] = source
    try:
        return orjson.dumps(record, default=_decimal_as_float)
    except orjson.JSONEncodeError:
        return _encode_slow(record)


def _decimal_as_float(value: Any) -> float:
    """Non-integers read with exact numbers (the streaming parser's exact mode) are Decimal: they are sent
    as the double they denote. Integers are never Decimal and never become floats. A number outside the
    range of a double is refused (never written as null); readers reject such records before this."""
    if isinstance(value, Decimal):
        number = float(value)
        if math.isinf(number):
            raise RecordError(f"number {value} is outside the range of a double; OpenSearch cannot index it")
        return number
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode_slow(record: dict[str, Any]) -> bytes:
    """Fallback for what orjson refuses: integers beyond 64 bits (written exactly), nesting deeper than
    254, lone surrogates (only in a source field made from a file name that is not UTF-8)."""
    try:
        text = json.dumps(record, separators=(",", ":"), allow_nan=False, default=_decimal_as_float)
        return text.encode("ascii")
    except RecursionError:
        raise RecordError("record is nested too deeply to serialize") from None
    except ValueError as exc:
        raise RecordError(f"record cannot be serialized as JSON: {exc}") from None


def message_headers(source: str, file_sha256: str, position: str) -> Headers:
    """The informational headers of one message."""
    return FileHeaders(source, file_sha256)(position)


class FileHeaders:
    """``message_headers`` for the records of one file, with the per-file part encoded once."""

    __slots__ = ("_sha256", "_source")

    def __init__(self, source: str, file_sha256: str) -> None:
        self._source = (HEADER_SOURCE, source.encode("utf-8", "surrogatepass"))
        self._sha256 = (HEADER_FILE_SHA256, file_sha256.encode())

    def __call__(self, position: str) -> Headers:
        return [self._source, self._sha256, (HEADER_POSITION, position.encode("utf-8", "surrogatepass"))]


def main(argv: list[str] | None = None) -> int:
    """``python -m schemas.message [--check]``: write (or check) the committed JSON Schema file."""
    args = sys.argv[1:] if argv is None else argv
    text = render_value_schema()
    if "--check" in args:
        current = VALUE_SCHEMA_PATH.read_text(encoding="utf-8") if VALUE_SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{VALUE_SCHEMA_PATH.name} is out of date; run: python -m schemas.message")
            return 1
        return 0
    VALUE_SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {VALUE_SCHEMA_PATH.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
