"""The reading path's one entry: a file's name picks its framing, gzip or not."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from producer.read.entry import framing_of, position_unit, read_records, reading_suffix
from producer.read.framing.csv_rows import read_csv
from producer.read.framing.json_document import read_document
from producer.read.framing.json_lines import read_lines


@pytest.mark.parametrize(
    ("name", "framing", "unit"),
    [
        ("a.json", read_document, "record"),
        ("a.json.gz", read_document, "record"),
        ("a.jsonl", read_lines, "line"),
        ("a.ndjson.gz", read_lines, "line"),
        ("a.csv", read_csv, "line"),
        ("a.tsv.gz", read_csv, "line"),
    ],
)
def test_the_name_picks_the_framing_and_what_a_position_counts(name: str, framing: object, unit: str) -> None:
    assert framing_of(name) is framing
    assert position_unit(Path(name)) == unit


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("r.json", b'[{"a": 1}]'),
        ("r.jsonl", b'{"a": 1}\n'),
        ("r.csv", b"a\n1\n"),
        ("r.tsv", b"a\n1\n"),
    ],
)
def test_the_same_record_from_every_format_gzipped_or_not(tmp_path: Path, name: str, data: bytes) -> None:
    plain, packed = tmp_path / name, tmp_path / f"{name}.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    records = [record for _, record in read_records(plain)]
    assert records == [record for _, record in read_records(packed)] == [{"a": 1}]


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("a.csv", ".csv"), ("a.tsv.gz", ".tsv.gz"), ("a.ndjson", ".ndjson"), ("a.json.gz", ".json.gz"),
        ("a.data", ".json"), ("a.data.gz", ".json.gz"),
    ],
)  # fmt: skip
def test_a_copy_named_with_the_reading_suffix_is_read_the_same_way(name: str, suffix: str) -> None:
    assert reading_suffix(name) == suffix
    assert framing_of(f"scan{reading_suffix(name)}") is framing_of(name)
