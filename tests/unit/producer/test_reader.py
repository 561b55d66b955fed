"""Readers: every shape, gzipped or not, whole-file (orjson) and streamed (ijson); every bad input."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.read.entry import BadRecord, ReadOptions, read_records
from schemas.errors import InputFileError

WHOLE = ReadOptions()
STREAMED = ReadOptions(small_file_bytes=8)  # anything bigger than 8 bytes goes through ijson
MODES = pytest.mark.parametrize("opts", [WHOLE, STREAMED], ids=["whole", "streamed"])

WriteFile = Callable[[str, bytes], Path]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return path

    return write


def read_all(path: Path, opts: ReadOptions = WHOLE) -> list[tuple[str, Any]]:
    return list(read_records(path, opts))


def as_json(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Exact-number streaming yields Decimal for fractions; compare as the JSON a message would carry."""
    return [(p, json.loads(json.dumps(r, default=float))) for p, r in items]


@MODES
@pytest.mark.parametrize("gz", ["", ".gz"])
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "steam.json",
            b'{"730": {"n": "CS"}, "570": {"n": "Dota"}}',
            [("730", {"n": "CS"}), ("570", {"n": "Dota"})],
        ),
        ("list.json", b'[{"a": 1}, {"a": 2.5}]', [("0", {"a": 1}), ("1", {"a": 2.5})]),
        ("lines.jsonl", b'{"a": 1}\n\n{"b": 2}\n', [("1", {"a": 1}), ("3", {"b": 2})]),
        ("lines.ndjson", b'{"a": 1}\r\n{"b": 2}', [("1", {"a": 1}), ("2", {"b": 2})]),
        ("bom.json", b'\xef\xbb\xbf[{"a": 1}]', [("0", {"a": 1})]),
        ("empty-array.json", b"[]", []),
        ("empty-object.json", b"{}", []),
        ("utf8.json", '[{"name": "Ünïcødé ✓"}]'.encode(), [("0", {"name": "Ünïcødé ✓"})]),
    ],
)
def test_each_shape_yields_one_positioned_record_per_record(  # noqa: PLR0917 - pytest parameters
    write_file: WriteFile, opts: ReadOptions, gz: str, name: str, data: bytes, expected: list[Any]
) -> None:
    assert read_all(write_file(name + gz, data), opts) == expected


def test_object_that_is_not_a_map_of_objects_is_one_record(write_file: WriteFile) -> None:
    path = write_file("one.json", b'{"type": "Feature", "geometry": {"x": 1}}')
    assert read_all(path) == [("0", {"type": "Feature", "geometry": {"x": 1}})]


@MODES
def test_an_object_whose_first_value_is_not_an_object_is_one_record_at_any_size(
    write_file: WriteFile, opts: ReadOptions
) -> None:
    # the first value decides (it is all a streamed file can know): a later object value does not matter
    path = write_file("one.json", b'{"type": "Feature", "g": {"x": 1}, "n": 18446744073709551616}')
    assert read_all(path, opts) == [("0", {"type": "Feature", "g": {"x": 1}, "n": 2**64})]


@MODES
def test_an_object_whose_first_value_is_an_object_is_an_object_of_records_at_any_size(
    write_file: WriteFile, opts: ReadOptions
) -> None:
    # a later value that is not an object is a record the caller rejects, with its key as position
    path = write_file("map.json", b'{"k0": {"a": 1}, "k1": {"b": 2}, "k2": 3}')
    assert read_all(path, opts) == [("k0", {"a": 1}), ("k1", {"b": 2}), ("k2", 3)]


@MODES
def test_a_one_record_document_longer_than_a_record_may_be_is_rejected_unparsed(
    write_file: WriteFile, opts: ReadOptions
) -> None:
    path = write_file("one.json", b'{"type": "Feature", "g": "' + b"x" * 100 + b'"}')
    [(position, record)] = read_all(path, replace(opts, max_line_bytes=50))
    assert position == "0"
    assert isinstance(record, BadRecord)
    assert record.reason == (
        "the file is one JSON object (not an object of records) longer than 50 bytes, "
        "more than a record may be"
    )


@MODES
def test_non_object_records_are_yielded_for_the_caller_to_reject(
    write_file: WriteFile, opts: ReadOptions
) -> None:
    path = write_file("mixed.json", b'[{"a": 1}, 2, "s", null, [1], {"b": 2}]')
    assert read_all(path, opts) == [
        ("0", {"a": 1}),
        ("1", 2),
        ("2", "s"),
        ("3", None),
        ("4", [1]),
        ("5", {"b": 2}),
    ]


@MODES
@pytest.mark.parametrize(
    ("records_path", "data", "expected"),
    [
        (
            "features",
            b'{"type": "FC", "features": [{"id": 1}, {"id": 2}]}',
            [("0", {"id": 1}), ("1", {"id": 2})],
        ),
        ("data.items", b'{"data": {"items": {"k": {"v": 1}}}}', [("k", {"v": 1})]),
    ],
)
def test_records_path_picks_the_records_inside_a_larger_document(
    write_file: WriteFile, opts: ReadOptions, records_path: str, data: bytes, expected: list[Any]
) -> None:
    options = ReadOptions(records_path=records_path, small_file_bytes=opts.small_file_bytes)
    assert read_all(write_file("doc.json", data), options) == expected


@MODES
@pytest.mark.parametrize("records_path", ["missing", "type"])
def test_records_path_that_is_missing_or_scalar_is_a_file_error(
    write_file: WriteFile, opts: ReadOptions, records_path: str
) -> None:
    options = ReadOptions(records_path=records_path, small_file_bytes=opts.small_file_bytes)
    with pytest.raises(InputFileError, match="records_path"):
        read_all(write_file("doc.json", b'{"type": "FC", "features": []}'), options)


@MODES
@pytest.mark.parametrize(
    ("name", "data", "message", "position"),
    [
        ("empty.json", b"", "the file is empty", 0),
        ("blank.json", b"  \n\t ", "the file is empty", 0),
        ("empty.jsonl", b"\n\n", "the file is empty", 0),
        ("number.json", b"  42", "top-level value is a number", 2),
        ("string.json", b'"x"', "top-level value is a string", 0),
        ("truncated.json", b'[{"a": 1}, {"b": ', "truncated JSON", None),
        ("bad-utf8.json", b'[{"a": "ok"}, {"a": "\xff\xfe"}]', "not valid UTF-8", 21),
        ("deep.json", b"[" * 3000 + b"]" * 3000, "nested deeper than 1024 levels", None),
        ("garbage.json", b'[{"a": 1}] trailing', "not valid JSON", None),
    ],
)
def test_bad_files_raise_a_positioned_error(  # noqa: PLR0917 - pytest parameters
    write_file: WriteFile, opts: ReadOptions, name: str, data: bytes, message: str, position: int | None
) -> None:
    with pytest.raises(InputFileError, match=message) as caught:
        read_all(write_file(name, data), opts)
    assert caught.value.position is not None
    if position is not None:
        assert caught.value.position == position
    assert caught.value.hint


@MODES
@pytest.mark.parametrize(
    ("data", "message", "expected"),
    [
        (b'[{"a": 1}, {"b": 2}, {"c": ', "truncated JSON", [("0", {"a": 1}), ("1", {"b": 2})]),
        (
            b'{"k1": {"a": 1}, "k2": {"b": 2}, "k3": {"c',
            "truncated JSON",
            [("k1", {"a": 1}), ("k2", {"b": 2})],
        ),
        (b'[{"a": 1}, {"b": "\xff"}]', "not valid UTF-8", [("0", {"a": 1})]),
    ],
)
def test_records_before_a_parse_error_are_still_yielded(
    write_file: WriteFile, opts: ReadOptions, data: bytes, message: str, expected: list[Any]
) -> None:
    records: list[Any] = []
    with pytest.raises(InputFileError, match=message):
        records.extend(read_records(write_file("t.json", data), opts))
    assert records == expected


def test_truncated_single_object_yields_nothing_and_fails(write_file: WriteFile) -> None:
    records: list[Any] = []
    with pytest.raises(InputFileError, match="truncated JSON"):
        records.extend(read_records(write_file("t.json", b'{"title": "one record", "body": {"x": ')))
    assert records == []


def test_truncated_file_error_is_at_the_end_of_the_file(write_file: WriteFile) -> None:
    for opts in (WHOLE, STREAMED):
        with pytest.raises(InputFileError, match="truncated JSON") as caught:
            list(read_records(write_file("t.json", b'[{"a": 1}, {"b": 2}, {"c": '), opts))
        assert caught.value.position == 27


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty \\(0 bytes\\)"),
        (b'[{"a": 1}]', "not valid gzip data"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_broken_gzip_is_a_file_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "x.json.gz"
    path.write_bytes(data)
    with pytest.raises(InputFileError, match=message):
        read_all(path)


def test_truncated_gzip_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n' * 10_000)[:200])
    with pytest.raises(InputFileError, match="gzip data is truncated"):
        read_all(path)


def test_bad_json_lines_are_record_errors_and_the_file_goes_on(write_file: WriteFile) -> None:
    path = write_file("l.jsonl", b'{"a": 1}\n{bad\n{"b": "\xff"}\n7\n{"c": 3}')
    items = read_all(path)
    assert [p for p, _ in items] == ["1", "2", "3", "4", "5"]
    assert items[0] == ("1", {"a": 1})
    assert isinstance(items[1][1], BadRecord)
    assert items[1][1].reason.startswith("line 2: not valid JSON")
    assert items[1][1].raw == "{bad"
    assert isinstance(items[2][1], BadRecord)
    assert "line 3: invalid UTF-8 at column 8" in items[2][1].reason
    assert items[3] == ("4", 7)
    assert items[4] == ("5", {"c": 3})


def test_over_long_json_line_is_a_record_error_and_the_next_line_is_read(write_file: WriteFile) -> None:
    path = write_file("l.jsonl", b'{"a": "' + b"x" * 5000 + b'"}\n{"b": 1}\n')
    items = read_all(path, ReadOptions(max_line_bytes=1000))
    assert isinstance(items[0][1], BadRecord)
    assert "longer than 1000 bytes" in items[0][1].reason
    assert items[1] == ("2", {"b": 1})


def test_integers_beyond_64_bits_in_a_streamed_file_are_read_exactly(write_file: WriteFile) -> None:
    data = b'[{"a": 1.5}, {"b": 2}, {"big": 100000000000000000000000000, "f": 0.25}, {"c": 3}]'
    items = as_json(read_all(write_file("big.json", data), STREAMED))
    assert items == [("0", {"a": 1.5}), ("1", {"b": 2}), ("2", {"big": 10**26, "f": 0.25}), ("3", {"c": 3})]


def test_deep_streamed_file_is_refused_before_ijson_builds_it(write_file: WriteFile) -> None:
    # 200k levels would make ijson's prefix bookkeeping take tens of GB; the guard must stop it first.
    path = write_file("deep.json", b'[{"a": 1}, ' + b"[" * 200_000 + b"]" * 200_000 + b"]")
    with pytest.raises(InputFileError, match="nested deeper than 1024"):
        read_all(path, STREAMED)


def test_brackets_inside_strings_do_not_trip_the_depth_guard(write_file: WriteFile) -> None:
    records = [{"text": "[" * 2000 + "{" * 2000}] * 3
    assert [r for _, r in read_all(write_file("s.json", orjson.dumps(records)), STREAMED)] == records


json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False, width=64),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
records_strategy = st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=5), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=records_strategy, gz=st.booleans(), small=st.sampled_from([8, 4 * 1024 * 1024]))
def test_any_records_round_trip_through_every_shape(
    tmp_path: Path, records: list[dict[str, Any]], gz: bool, small: int
) -> None:
    suffix = ".gz" if gz else ""
    opts = ReadOptions(small_file_bytes=small)

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / (name + suffix)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    if records:
        as_array = as_json(read_all(write("a.json", orjson.dumps(records)), opts))
        assert as_array == [(str(i), r) for i, r in enumerate(records)]
    lines = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    if records:
        assert as_json(read_all(write("a.jsonl", lines), opts)) == [
            (str(i + 1), r) for i, r in enumerate(records)
        ]
    keyed = {f"k{i}": r for i, r in enumerate(records) if r}
    if keyed:
        assert as_json(read_all(write("o.json", orjson.dumps(keyed)), opts)) == list(keyed.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=200)
    | st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \n\\u', max_size=80).map(str.encode),
    name=st.sampled_from(["x.json", "x.jsonl", "x.json.gz"]),
    small=st.sampled_from([4, 4 * 1024 * 1024]),
)
def test_arbitrary_bytes_give_records_or_an_input_file_error_never_a_crash(
    tmp_path: Path, data: bytes, name: str, small: int
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        for position, _record in read_records(path, ReadOptions(small_file_bytes=small)):
            assert isinstance(position, str)
    except InputFileError as exc:
        assert str(exc)
