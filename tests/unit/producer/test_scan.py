"""The C scanner path for big documents gives exactly what the ijson path gives: positions, ids, values."""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.pipeline import FileProcessor
from producer.read.entry import BadRecord, ReadOptions, read_records
from producer.read.framing import json_scanner as scan
from schemas.errors import InputFileError
from schemas.settings import ProducerSettings
from tests.unit.producer.test_pipeline import StandInPublisher, processor

STREAMED = ReadOptions(small_file_bytes=8)

pytestmark = pytest.mark.skipif(not scan.AVAILABLE, reason="producer.read.framing._jsonscan is not built")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def test_records_become_finished_values_with_the_source_field_spliced_in(tmp_path: Path) -> None:
    path = write(tmp_path / "f.json", b'[{"a": 1}, {}, {"source": "x"}, 7, {"b": {"source": 1}}]')
    items = list(read_records(path, replace(STREAMED, splice=("source", "d/f.json"))))
    assert items == [
        ("0", b'{"source":"d/f.json","a": 1}'),
        ("1", b'{"source":"d/f.json"}'),
        ("2", {"source": "x"}),  # has the field: parsed, for the source_conflict rule
        ("3", 7),
        ("4", b'{"source":"d/f.json","b": {"source": 1}}'),
    ]


@pytest.mark.parametrize(
    ("data", "message", "position", "before"),
    [
        (b'[{"a": 1}, {"b": x}]', "not valid JSON \\(unexpected character 'x'\\)", 17, 1),
        (b'[{"a": 1}, {"b": "\x01"}]', "control character", 18, 1),
        (b'[{"a": 1}, {"b": "\\q"}]', "invalid escape", 18, 1),
        (b'[{"a": 1}, {"b": 1.}]', "malformed number", 19, 1),
        (b'[{"a": "\xe2\x9c\x93"}, {"b": "\xe2\x9c"}]', "not valid UTF-8", 22, 1),
        (b'{"k": {"a": 1}, "l": {"b": 2}} x', "not valid JSON \\(character 'x' after the end", 31, 2),
        (b'[{"a": 1}]\n\n]', "after the end of the document", 12, 1),
        (b'[{"a": 1}, ' + b"[" * 1030, "nested deeper than 1024 levels", 11 + 1023, 1),
        (b'[{"a": 1}, {"b": ', "truncated JSON", 17, 1),
    ],
)
def test_file_errors_point_at_the_offending_byte_after_the_records_before_it(
    tmp_path: Path, data: bytes, message: str, position: int, before: int
) -> None:
    for name in ("f.json", "f.json.gz"):
        records: list[Any] = []
        with pytest.raises(InputFileError, match=message) as caught:
            records.extend(read_records(write(tmp_path / name, data), STREAMED))
        assert caught.value.position == position
        assert caught.value.unit == ("decompressed byte" if name.endswith(".gz") else "byte")
        assert len(records) == before


def test_a_record_bigger_than_a_chunk_grows_the_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "_CHUNK", 16)
    records = [{"text": "x" * 5000, "n": i} for i in range(3)]
    path = write(tmp_path / "big.json", orjson.dumps(records))
    assert [r for _, r in read_records(path, STREAMED)] == records


def test_the_reading_path_is_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(scan, "_logged", False)
    path = write(tmp_path / "f.json", b'[{"a": 1}, {"a": 2}]')
    with caplog.at_level(logging.INFO, logger="producer.scan"):
        for _ in range(3):
            list(read_records(path, STREAMED))
    assert [r.message for r in caplog.records] == [
        "event=reader_path path=c_scanner module=producer.read.framing._jsonscan"
    ]


# --- the property: the fast path changes nothing a consumer could see --------------------------------

keys = st.sampled_from(["source", "id", "a", "é", 'k"q', "back\\slash", "new\nline", "\x01", "😀"]) | st.text(
    max_size=6
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
records = st.dictionaries(keys, values, max_size=6) | values
STYLES = ["orjson", "indent", "ascii"]


def encode(document: Any, style: str) -> bytes:
    if style == "ascii":
        return json.dumps(document, ensure_ascii=True).encode()  # every non-ASCII character escaped
    try:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 if style == "indent" else 0)
    except orjson.JSONEncodeError:  # integers beyond 64 bits
        return json.dumps(document, ensure_ascii=False, indent=2 if style == "indent" else None).encode()


def outcome(
    proc: FileProcessor, publisher: StandInPublisher, path: Path, whole: bool = False
) -> tuple[Any, ...]:
    """What a consumer could see: sent (key, value as JSON, headers), counts, and the rejected report."""
    if not whole:
        proc.read_options = replace(proc.read_options, small_file_bytes=8)  # stream everything
    result = proc.process(path)
    sent = [(key, json.loads(value), headers) for key, value, headers in publisher.sent]
    reports = sorted(proc.ledger.failed_dir.glob("*.rejected.jsonl"))
    rejected = [json.loads(line) for report in reports for line in report.read_bytes().splitlines()]
    for entry in rejected:
        entry.pop("rejected_at", None)
    return sent, result.outcome, result.records, result.rejected, rejected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(records, max_size=8),
    shape=st.sampled_from(["array", "object", "lines"]),
    style=st.sampled_from(STYLES),
    conflict=st.sampled_from(["overwrite", "keep", "reject"]),
    chunk=st.sampled_from([3, 64, 1 << 20]),
    gz=st.booleans(),
    whole=st.booleans(),
)
def test_fast_path_sends_exactly_what_the_parsing_path_sends(  # noqa: PLR0917 - hypothesis parameters
    tmp_path_factory: pytest.TempPathFactory,
    items: list[Any],
    shape: str,
    style: str,
    conflict: str,
    chunk: int,
    gz: bool,
    whole: bool,
) -> None:
    """Streamed (ijson vs scanner), whole (orjson vs scanner) or lines (orjson vs scan_line): the same
    messages and reports."""
    if shape == "lines":  # one record per line, compact (an indented record would span lines)
        data = b"".join(encode(r, "ascii" if style == "ascii" else "orjson") + b"\n" for r in items)
    else:
        document: Any = items if shape == "array" else {f"k{i}": r for i, r in enumerate(items)}
        data = encode(document, style)
    seen = []
    for fast in (True, False):
        root = tmp_path_factory.mktemp("inbox")
        inbox = root / "inbox"
        inbox.mkdir()
        name = "records.jsonl" if shape == "lines" else "records.json"
        path = write(inbox / (name + ".gz" if gz else name), data)
        settings_ = ProducerSettings(inbox=inbox, source_conflict=conflict)  # type: ignore[arg-type]
        publisher = StandInPublisher(settings_)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scan, "AVAILABLE", fast)
            patch.setattr(scan, "_CHUNK", chunk)
            seen.append(outcome(processor(settings_, publisher), publisher, path, whole))
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b'{"a": 1, "a": 2}', {"a": 2, "source": "records.json"}),  # repeated key: the last wins
        (b'{"x": {"b": 1, "b": [3]}}', {"x": {"b": [3]}, "source": "records.json"}),
        (b'{"\\u0061": 1, "a": 2}', {"a": 2, "source": "records.json"}),  # the same key, escaped
        (b'{"sourc\\u0065": "mine"}', {"source": "records.json"}),  # the source field, escaped
        (
            b'{"n": 123456789012345678901234567890}',
            {"n": 123456789012345678901234567890, "source": "records.json"},
        ),
    ],
)
def test_records_the_scanner_is_unsure_of_are_parsed_like_before(
    tmp_path: Path, record: bytes, expected: dict[str, Any]
) -> None:
    seen = []
    for fast in (True, False):
        inbox = tmp_path / f"inbox-{fast}"
        inbox.mkdir()
        path = write(inbox / "records.json", b"[" + record + b", " + record + b"]")
        settings_ = ProducerSettings(inbox=inbox)
        publisher = StandInPublisher(settings_)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scan, "AVAILABLE", fast)
            seen.append(outcome(processor(settings_, publisher), publisher, path))
    assert seen[0] == seen[1]
    assert [value for _, value, _ in seen[0][0]] == [expected, expected]


def test_a_spliced_value_over_the_limit_is_encoded_compactly_before_it_is_judged(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    record = {"text": "x" * 9000}
    path = write(
        inbox / "records.json",
        b"[" + orjson.dumps(record, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n" + b" " * 2000) + b"]",
    )
    settings_ = ProducerSettings(inbox=inbox)
    publisher = StandInPublisher(settings_)  # accepts 10,000 bytes
    sent, result, *_ = outcome(processor(settings_, publisher), publisher, path)
    assert result == "done"
    assert sent[0][1] == {**record, "source": "records.json"}
    assert len(publisher.sent[0][1]) < 9100


def read_outcome(path: Path, opts: ReadOptions) -> tuple[list[Any], str | None, int | None]:
    """Records as parsed (a finished value parsed exactly, less the spliced source field; a rejected
    record by its reason: its text is at hand only where the scanner cut it out), then the file error."""
    records: list[Any] = []
    try:
        for position, record in read_records(path, opts):
            if isinstance(record, bytes):
                parsed = json.loads(record)
                assert parsed.pop("source") == "f.json"
                records.append((position, parsed))
            elif isinstance(record, BadRecord):
                records.append((position, record.reason))
            else:
                records.append((position, record))
    except InputFileError as exc:
        return records, exc.reason, exc.position
    return records, None, None


@pytest.mark.parametrize(
    "data",
    [
        b'{"730": {"a": 1}, "570": {"b": 2}}',
        b'[{"a": 1}, {}, 3, "s", [1]]',
        b'{"a": {"x": 1}, "b": {"y": 2}, "a": {"z": 3}}',  # repeated top-level key: the last wins
        b'{"type": "Feature", "geometry": {"x": 1}}',  # one record
        b'{"a": {"x": 1}, "b": 2}',  # one record too (not every value is an object)
        b'[{"n": 123456789012345678901234567890}]',  # exact on both paths (orjson would round it)
        b'[{"n": 1e400}, {"a": 1}]',  # the record is rejected on both (orjson refuses the file)
        b'[{"s": "\\ud800"}, {"a": 1}]',  # a lone surrogate escape: the same
        b'[{"s": "\\ud83d\\ude00"}]',
        b'{"\\ud800": {"a": 1}, "b": {"c": 2}}',
        b'[{"a": 1}] x',
        b'[{"a": 1}, {"b": ',
        b"[" * 1025 + b"]" * 1025,
        b'[{"n": 123456789012345678901234567890, "d": ' + b"[" * 1030 + b"]" * 1030 + b"}]",  # exact, deep
        b'[{"n": 1e400, "d": ' + b"[" * 1030 + b"]" * 1030 + b"}]",
        b'{"k": {"source": "mine"}, "l": {"sourc\\u0065": 1}, "m": {"a": 1, "a": 2}}',
    ],
)
def test_small_files_read_by_the_scanner_give_what_the_parsing_path_gives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes
) -> None:
    path = write(tmp_path / "f.json", data)
    fast = read_outcome(path, ReadOptions(splice=("source", "f.json")))
    monkeypatch.setattr(scan, "AVAILABLE", False)
    assert read_outcome(path, ReadOptions()) == fast


def test_small_arrays_and_objects_of_records_are_spliced_too(tmp_path: Path) -> None:
    splice = ReadOptions(splice=("source", "f.json"))
    path = write(tmp_path / "f.json", b'{"730": {"a": 1}, "570": {}}')
    assert list(read_records(path, splice)) == [
        ("730", b'{"source":"f.json","a": 1}'),
        ("570", b'{"source":"f.json"}'),
    ]
    path = write(tmp_path / "g.json", b'[{"a": 1}, 2]')
    assert list(read_records(path, splice)) == [("0", b'{"source":"f.json","a": 1}'), ("1", 2)]


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}\n{"b": [2]}\n',
        b'\xef\xbb\xbf{"a": 1}\r\n  {"b": 2}  \r\n\n\n   \n{}\n',
        b'{"a": 1}\n[1]\n"s"\n7\nnull\n{bad\n{"c": "\xff"}\n{"a": 1} x\n',
        b'{"n": 123456789012345678901234567890}\n{"n": 1e400}\n{"n": 1e-400}\n',
        b'{"s": "\\ud800"}\n{"s": "\\ud83d\\ude00"}\n',
        b'{"a": 1, "a": 2}\n{"\\u0061": 1}\n{"source": "mine"}\n{"sourc\\u0065": 1}\n',
        b'{"a": "' + b"x" * 300 + b'"}\n{"b": 1}',
        b"[" * 1025 + b"]" * 1025 + b"\n" + b"{" + b'"a":{' * 1023 + b"}" * 1024 + b"\n",
        b'{"n": 123456789012345678901234567890, "d": ' + b"[" * 1030 + b"]" * 1030 + b"}\n{}\n",
        b'{"s": "\\ud800", "d": ' + b"[" * 1030 + b"]" * 1030 + b"}\n{}\n",
        b"\n\n",
    ],
)
def test_json_lines_spliced_give_what_parsing_each_line_gives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes
) -> None:
    path = write(tmp_path / "f.jsonl", data)
    opts = ReadOptions(max_line_bytes=200, splice=("source", "f.json"))
    fast = read_outcome(path, opts)
    monkeypatch.setattr(scan, "AVAILABLE", False)
    assert read_outcome(path, opts) == fast


def test_json_lines_nested_too_deeply_are_refused_alike_whatever_else_they_hold(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deep = b"[" * 1030 + b"]" * 1030
    data = b"\n".join(
        [
            deep,
            b'{"n": 123456789012345678901234567890, "d": ' + deep + b"}",
            b'{"s": "\\ud800", "d": ' + deep + b"}",
        ]
    )
    path = write(tmp_path / "f.jsonl", data + b"\n{}\n")
    opts = ReadOptions(splice=("source", "f.json"))
    fast = read_outcome(path, opts)
    monkeypatch.setattr(scan, "AVAILABLE", False)
    assert read_outcome(path, opts) == fast
    records, error, _ = fast
    assert error is None
    assert [position for position, _ in records] == ["1", "2", "3", "4"]
    assert all("depth limit exceeded" in reason for _, reason in records[:3])
