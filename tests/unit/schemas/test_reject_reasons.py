"""Rejected records grouped by cause, in words with a way out the person at the page can take (issue 17:
the 20 MB nested object whose reasons were only in a download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.inbox.ledger import RejectedWriter
from schemas.reject_reasons import reject_group


@pytest.mark.parametrize(
    ("first", "second", "words", "way_out"),
    [
        ("record is 2000123 bytes; the topic accepts at most 1048576",
         "record is 5000000 bytes; the topic accepts at most 1048576",
         "larger than the 1.0 MB a record may be", "upload the part you need as a file of its own"),
        ("record is a string, not a JSON object", "record is a string, not a JSON object",
         "not an object with fields", 'under "Records under"'),
        ("line 7: 4 fields, the header has 3", "line 912: 2 fields, the header has 3",
         "than the 3 columns of the header", "their lines are in the rejected records"),
        ("record has no id field 'sku'", "id field 'sku' is an empty string",
         "lacks a usable sku", "give every record its sku"),
        ("JSON nested deeper than 64 levels", "record is nested too deeply to serialize",
         "nested more deeply", "flatten the data"),
    ],
)  # fmt: skip
def test_reasons_of_one_cause_are_one_group_with_a_way_out(
    first: str, second: str, words: str, way_out: str
) -> None:
    group = reject_group(first)
    assert reject_group(second).key == group.key
    assert words in group.what and way_out in group.to_do


def test_different_limits_and_kinds_are_different_groups() -> None:
    assert (
        reject_group("record is 20 bytes; the topic accepts at most 10").key
        != reject_group("record is 20 bytes; the topic accepts at most 12").key
    )
    assert (
        reject_group("record is null, not a JSON object").key
        != reject_group("record is an array, not a JSON object").key
    )
    other = reject_group("something at character 12 nobody foresaw")
    assert other.key == reject_group("something at character 913 nobody foresaw").key
    assert "something at character 12" in other.what


@pytest.mark.timeout(10)
def test_the_writer_counts_its_records_by_cause_and_keeps_memory_flat(tmp_path: Path) -> None:
    writer = RejectedWriter(tmp_path / "x.rejected.jsonl.tmp")
    for n in range(5):
        writer.add(str(n), None, f"record is {2000 + n} bytes; the topic accepts at most 1000", {"n": n})
    writer.add("9", None, "record is a string, not a JSON object", "s")
    for n in range(100):  # a hundred different faults: twenty causes, then the rest together
        writer.add(str(10 + n), None, f"fault number {'x' * n}", {})
    causes = writer.cause_counts()
    assert causes[0] == {
        "cause": "too-large:1000", "count": 5,
        "reason": "record is 2000 bytes; the topic accepts at most 1000",
    }  # fmt: skip
    assert causes[1]["count"] == 1 and causes[1]["cause"].startswith("not-object")
    assert len(causes) == 21 and causes[-1]["cause"] == "more"
    assert sum(c["count"] for c in causes) == writer.count == 106
    writer.discard()
