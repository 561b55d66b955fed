"""The wire format: value encoding, source-field conflicts, headers, and the committed JSON Schema."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest

from schemas.message import (
    HEADER_FILE_SHA256,
    HEADER_POSITION,
    HEADER_SOURCE,
    VALUE_SCHEMA_PATH,
    MessageValue,
    RecordError,
    SourceConflict,
    encode_value,
    main,
    message_headers,
    render_value_schema,
)


@pytest.mark.parametrize(
    ("record", "conflict", "expected"),
    [
        ({"a": 1}, "overwrite", {"a": 1, "source": "in/f.json"}),
        ({"a": 1}, "keep", {"a": 1, "source": "in/f.json"}),
        ({"a": 1}, "reject", {"a": 1, "source": "in/f.json"}),
        ({"a": 1, "source": "old"}, "overwrite", {"a": 1, "source": "in/f.json"}),
        ({"a": 1, "source": "old"}, "keep", {"a": 1, "source": "old"}),
    ],
)
def test_value_is_the_record_plus_the_source_field(
    record: dict[str, Any], conflict: SourceConflict, expected: dict[str, Any]
) -> None:
    value = encode_value(record, "source", "in/f.json", conflict)
    assert orjson.loads(value) == expected
    MessageValue.model_validate_json(value)


def test_record_that_has_the_source_field_is_rejected_when_configured() -> None:
    with pytest.raises(RecordError, match="already has the source field 'source'"):
        encode_value({"source": "x"}, "source", "f.json", "reject")


def test_custom_source_field_name() -> None:
    assert orjson.loads(encode_value({"a": 1}, "file", "f.json")) == {"a": 1, "file": "f.json"}


def test_values_orjson_refuses_are_still_encoded_exactly() -> None:
    big = 10**30
    assert orjson.loads(encode_value({"n": big}, "source", "f.json").replace(b"1" + b"0" * 30, b"1")) == {
        "n": 1,
        "source": "f.json",
    }
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(300):  # deeper than orjson.dumps allows (254)
        node["a"] = {}
        node = node["a"]
    assert encode_value(deep, "source", "f.json").count(b'{"a":') == 300


def test_integers_stay_integers_and_exact_non_integers_are_sent_as_doubles() -> None:
    record = {"n": 2**64, "m": -(10**300), "f": Decimal("0.1"), "g": Decimal("1E+2")}
    value = encode_value(record, "source", "f.json")
    assert json.loads(value, parse_float=Decimal) == {
        "n": 2**64,
        "m": -(10**300),
        "f": Decimal("0.1"),
        "g": Decimal("100.0"),
        "source": "f.json",
    }


@pytest.mark.parametrize("number", [Decimal("1E+400"), Decimal("-1E+400")])
def test_a_number_outside_a_double_is_refused_never_written_as_null(number: Decimal) -> None:
    with pytest.raises(RecordError, match="outside the range of a double"):
        encode_value({"n": number}, "source", "f.json")


def test_record_too_deep_for_any_encoder_is_a_record_error() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(100_000):
        child: list[Any] = []
        node.append(child)
        node = child
    with pytest.raises(RecordError, match="nested too deeply"):
        encode_value({"a": deep}, "source", "f.json")


def test_headers_carry_source_sha_and_position() -> None:
    assert message_headers("d/f.json", "ab" * 32, "730") == [
        (HEADER_SOURCE, b"d/f.json"),
        (HEADER_FILE_SHA256, b"ab" * 32),
        (HEADER_POSITION, b"730"),
    ]
    assert (HEADER_SOURCE, HEADER_FILE_SHA256, HEADER_POSITION) == (
        "spoolbridge-source",
        "spoolbridge-file-sha256",
        "spoolbridge-position",
    )


def test_committed_value_schema_matches_the_model() -> None:
    """Fails when schemas/message-value.schema.json drifts; fix with `python -m schemas.message`."""
    assert VALUE_SCHEMA_PATH.read_text(encoding="utf-8") == render_value_schema()
    assert main(["--check"]) == 0


def test_value_schema_requires_a_string_source_and_allows_any_other_field() -> None:
    schema = orjson.loads(VALUE_SCHEMA_PATH.read_bytes())
    assert schema["type"] == "object"
    assert schema["required"] == ["source"]
    assert schema["properties"]["source"]["type"] == "string"
    assert schema["additionalProperties"] is True
