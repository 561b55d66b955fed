"""The _bulk body is built from raw key and value bytes (consumer/bulk.py)."""

from __future__ import annotations

import json

import orjson
import pytest
from confluent_kafka import Message
from hypothesis import given
from hypothesis import strategies as st

from consumer.bulk import Rejected, build_bulk, encode_action


def message(key: bytes | None, value: bytes | None, offset: int = 0) -> Message:
    return Message(topic="t", partition=0, offset=offset, key=key, value=value)


def test_index_action_carries_the_value_bytes_unchanged() -> None:
    value = b'{"b": 1,  "a": [1.50, "\\u00e9"], "source": "x.json"}'  # odd spacing and escapes kept
    request, rejected = build_bulk([message(b"x.json:0", value)])
    assert rejected == []
    assert request.body == b'{"index":{"_id":"x.json:0"}}\n' + value + b"\n"
    assert request.actions == ["index"]


def test_tombstone_becomes_a_delete() -> None:
    request, _ = build_bulk([message(b"gone", None)])
    assert request.body == b'{"delete":{"_id":"gone"}}\n'
    assert request.actions == ["delete"]


@pytest.mark.parametrize("key", ['a"b', "back\\slash", "tab\tnew\nline", "ünï 🎮", "\x00ctl"])
def test_ids_are_json_escaped(key: str) -> None:
    request, _ = build_bulk([message(key.encode(), b"{}")])
    action_line = request.body.split(b"\n")[0]
    assert json.loads(action_line) == {"index": {"_id": key}}


def test_pretty_printed_values_keep_the_ndjson_framing_and_their_meaning() -> None:
    value = json.dumps({"a": {"b": [1, 2]}, "s": "line\nbreak"}, indent=2).encode()
    request, _ = build_bulk([message(b"k", value)])
    lines = request.body.split(b"\n")
    assert len(lines) == 3 and lines[2] == b""
    assert orjson.loads(lines[1]) == json.loads(value)


@pytest.mark.parametrize(
    ("key", "value", "error_type"),
    [
        (None, b"{}", "missing_key"),
        (b"", b"{}", "missing_key"),
        (b"\xff\xfe", b"{}", "invalid_key"),
        (b"k" * 513, b"{}", "invalid_key"),
        (b"k", b"", "invalid_json"),
        (b"k", b'{"a": ', "invalid_json"),
        (b"k", b'{"a": "\xff"}', "invalid_json"),
        (b"k", b'{"a":1} {"b":2}', "invalid_json"),
        (b"k", b"[1, 2]", "not_an_object"),
        (b"k", b'"text"', "not_an_object"),
        (b"k", b"42", "not_an_object"),
    ],
)
def test_messages_that_cannot_be_documents_are_rejected_with_a_reason(
    key: bytes | None, value: bytes, error_type: str
) -> None:
    result = encode_action(message(key, value))
    assert isinstance(result, Rejected)
    assert result.error_type == error_type
    assert result.reason


def test_rejected_messages_are_left_out_and_order_is_kept() -> None:
    messages = [
        message(b"a", b"{}", 0),
        message(None, b"{}", 1),
        message(b"c", b"[]", 2),
        message(b"d", None, 3),
    ]
    request, rejected = build_bulk(messages)
    assert [m.offset() for m in request.messages] == [0, 3]
    assert [r.message.offset() for r in rejected] == [1, 2]


def test_subsets_and_halves_reuse_the_encoded_lines() -> None:
    request, _ = build_bulk([message(f"k{i}".encode(), b'{"i":%d}' % i, i) for i in range(5)])
    retry = request.subset([1, 3])
    assert retry.body == request.lines[1] + request.lines[3]
    first, second = request.halves()
    assert len(first) == 2 and len(second) == 3
    assert first.body + second.body == request.body


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=40).filter(lambda k: len(k.encode()) <= 512),
            st.none() | st.dictionaries(st.text(max_size=10), _json_values, max_size=4),
            st.booleans(),
        ),
        max_size=20,
    )
)
def test_any_keys_and_objects_round_trip_through_the_ndjson_body(
    items: list[tuple[str, dict[str, object] | None, bool]],
) -> None:
    messages = []
    for offset, (key, document, pretty) in enumerate(items):
        value = None
        if document is not None:
            value = json.dumps(document, indent=2 if pretty else None, ensure_ascii=pretty).encode()
        messages.append(message(key.encode(), value, offset))
    request, rejected = build_bulk(messages)
    assert rejected == []
    lines = request.body.split(b"\n")
    assert lines[-1] == b""
    position = 0
    for key, document, _ in items:
        action = orjson.loads(lines[position])
        if document is None:
            assert action == {"delete": {"_id": key}}
            position += 1
        else:
            assert action == {"index": {"_id": key}}
            assert orjson.loads(lines[position + 1]) == document
            position += 2
    assert position == len(lines) - 1
