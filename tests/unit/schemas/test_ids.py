"""Document-id rules (DESIGN "Document ids")."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.ids import MAX_ID_BYTES, IdFieldError, bounded_id, default_id, field_id


@pytest.mark.parametrize(
    ("path", "position", "expected"),
    [
        ("games.json", "730", "games.json:730"),
        ("sub/dir/list.json", 0, "sub/dir/list.json:0"),
        ("lines.jsonl", "12", "lines.jsonl:12"),
        ("ünïcode/ファイル.json", "ключ", "ünïcode/ファイル.json:ключ"),
    ],
)
def test_default_id_is_relative_path_colon_position(path: str, position: str | int, expected: str) -> None:
    assert default_id(path, position) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [({"id": "abc"}, "abc"), ({"id": 42}, "42"), ({"id": -7}, "-7"), ({"id": 10**30}, str(10**30))],
)
def test_field_id_accepts_strings_and_integers(record: dict[str, Any], expected: str) -> None:
    assert field_id(record, "id") == expected


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({}, "has no id field"),
        ({"id": ""}, "empty string"),
        ({"id": True}, "not bool"),
        ({"id": 1.5}, "not float"),
        ({"id": None}, "not NoneType"),
        ({"id": {"a": 1}}, "not dict"),
    ],
)
def test_field_id_rejects_missing_or_unusable_values(record: dict[str, Any], message: str) -> None:
    with pytest.raises(IdFieldError, match=message):
        field_id(record, "id")


def test_id_at_the_limit_is_kept_and_one_byte_more_is_hashed() -> None:
    at_limit = "a" * MAX_ID_BYTES
    assert bounded_id(at_limit) == at_limit
    over = "a" * (MAX_ID_BYTES + 1)
    hashed = bounded_id(over)
    assert hashed != over
    assert hashed.startswith("a" * 100)
    assert "~sha256:" in hashed
    assert len(hashed.encode()) <= MAX_ID_BYTES


def test_multibyte_id_over_the_byte_limit_is_hashed_without_splitting_a_character() -> None:
    text = "ж" * 300  # 600 bytes, 300 characters
    hashed = bounded_id(text)
    assert len(hashed.encode("utf-8")) <= MAX_ID_BYTES
    assert hashed.split("~sha256:")[0] == "ж" * (hashed.split("~sha256:")[0].count("ж"))


def test_long_id_field_value_is_hashed() -> None:
    assert len(field_id({"id": "x" * 2000}, "id").encode()) <= MAX_ID_BYTES


@given(st.text(min_size=0, max_size=1500))
def test_bounded_id_always_fits_and_is_stable(text: str) -> None:
    result = bounded_id(text)
    assert len(result.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES
    assert bounded_id(text) == result
    if len(text.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES:
        assert result == text


@given(st.text(min_size=520, max_size=800), st.text(min_size=520, max_size=800))
def test_different_long_ids_hash_differently(a: str, b: str) -> None:
    if a != b:
        assert bounded_id(a) != bounded_id(b)
