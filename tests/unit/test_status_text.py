"""``spoolbridge status`` as text: at most 80 columns, names never cut, waiting and replaced files noted."""

from __future__ import annotations

import pytest

from spoolbridge.status import (
    DatasetStatus,
    PartitionLag,
    SourceStatus,
    StatusReport,
    balances,
)
from spoolbridge.status_text import expired_lines, print_status

LONG = "a-dataset-with-a-rather-long-name-that-people-really-do-give-their-folders"


def report() -> StatusReport:
    rows = [
        SourceStatus(f"{LONG}/2024/exports/very-long-file-name-of-an-export.jsonl", LONG, "done", 3, 3, 0, 3),
        SourceStatus(f"{LONG}/b.json", LONG, "done", 1, 1, 0, 1, version=2, replaced="3 → 1"),
        SourceStatus(f"{LONG}/c.json", LONG, "waiting", bytes=1234),
        SourceStatus(f"{LONG}/d.json", LONG, "reading", read=5000, bytes=99_000_000),
    ]
    dataset = DatasetStatus(LONG, f"spoolbridge.{LONG}", LONG, f"spoolbridge.{LONG}.dlq", None, 4, [], rows)
    dataset.partitions = [PartitionLag(0, 3, 5, 2)]
    return StatusReport("spoolbridge", [dataset])


def test_lines_fit_80_columns_unless_they_hold_a_long_name_whole(capsys: pytest.CaptureFixture[str]) -> None:
    print_status(report())
    out = capsys.readouterr().out
    names = [LONG, f"{LONG}/2024/exports/very-long-file-name-of-an-export.jsonl"]
    for line in out.splitlines():
        assert len(line) <= 80 or any(n in line and len(line) - len(n) <= 30 for n in names), line
    assert f"{LONG}/2024/exports/very-long-file-name-of-an-export.jsonl" in out  # never cut
    assert "version 2, replaced: 3 → 1 records" in out
    assert "1234 bytes" in out
    assert "99000000 bytes, 5000 records so far" in out
    assert "4 files, read 5004" in out and "lag 2" in out  # read: the file being read counts so far


def _expiring(indexed_b: int, *, offsets: bool = True) -> DatasetStatus:
    """Two files of 10 records each in partition 0 (a.json at offsets 0-9, b.json at 10-19); offsets
    12-15 expired before they were indexed."""
    rows = [
        SourceStatus("a.json", "(default)", "done", 10, 10, 0, 10, offsets={0: (0, 9)} if offsets else None),
        SourceStatus(
            "b.json", "(default)", "done", 10, 10, 0, indexed_b, offsets={0: (10, 19)} if offsets else None
        ),
    ]
    dataset = DatasetStatus("(default)", "t", "t", "t.dlq", None, 10 + indexed_b, [], rows)
    dataset.partitions = [PartitionLag(0, 20, 20, 0, expired=4, expired_offsets=[(12, 15)])]
    dataset.retention_ms = 3_600_000
    return dataset


def test_records_expired_from_kafka_are_said_with_the_retention_and_the_files_to_drop_again() -> None:
    dataset = _expiring(indexed_b=6)
    assert expired_lines(dataset) == [
        "4 records expired from Kafka before they were indexed (retention.ms 3600000)",
        "fix: drop these files again: b.json",
    ]
    assert dataset.as_dict()["expired_files"] == ["b.json"]
    dataset.retention_ms = None
    assert "(retention.ms unknown)" in expired_lines(dataset)[0]
    dataset.partitions = [PartitionLag(0, 20, 20, 0)]
    assert expired_lines(dataset) == []


def test_the_files_named_are_those_whose_offsets_the_expired_ones_overlap_even_when_they_balance() -> None:
    dataset = _expiring(indexed_b=10)  # b.json dropped again since: its documents are back...
    dataset.sources[1].offsets = {0: (20, 29)}  # ...at offsets after the gap: not named
    assert dataset.expired_files == []
    assert expired_lines(dataset)[1].startswith("none of them was of the latest version of a file")
    dataset.partitions[0].expired_offsets = [(5, 10)]  # the last record of a.json, the first of b.json
    dataset.sources[1].offsets = {0: (10, 19)}
    assert dataset.expired_files == ["a.json", "b.json"]  # a.json is named although it balances


def test_files_from_manifests_without_offsets_are_unknown_not_guessed() -> None:
    dataset = _expiring(indexed_b=6, offsets=False)
    assert expired_lines(dataset)[1:] == [
        "unknown (manifest from before ranges were recorded) whether they came from: b.json"
    ]
    assert dataset.as_dict()["expired_files_unknown"] == ["b.json"] and dataset.expired_files == []


def test_expired_records_whose_offsets_the_commit_no_longer_holds_are_said_to_be_unplaced() -> None:
    dataset = _expiring(indexed_b=6)
    dataset.partitions[0].expired = 7  # 3 more than the offsets recorded
    assert (
        expired_lines(dataset)[2]
        == "3 records of them at offsets no longer recorded: their files are unknown"
    )
    assert dataset.hit_by_expiry(dataset.sources[0])  # any file may be theirs


@pytest.mark.parametrize(("indexed_b", "settled"), [(6, True), (7, True), (5, False), (11, False)])
def test_settled_counts_expired_records_as_accounted_for_and_no_more(indexed_b: int, settled: bool) -> None:
    assert StatusReport("g", [_expiring(indexed_b)]).settled is settled


def test_expired_records_cover_only_the_files_they_came_from() -> None:
    dataset = _expiring(indexed_b=10)
    dataset.sources[0].indexed = 8  # a.json is short, but none of its offsets expired
    assert not StatusReport("g", [dataset]).settled
    assert StatusReport("g", [_expiring(indexed_b=6, offsets=False)]).settled  # unknown: may be theirs


def test_a_file_that_lacks_only_replayed_letters_does_not_balance() -> None:
    row = SourceStatus("a.json", "(default)", "done", 10, 10, 0, 7, dead_lettered=0, replayed=3)
    assert not balances(row)  # replayed but not yet indexed: still on its way
    row.indexed = 10
    assert balances(row)


def test_records_that_share_an_id_are_said_and_the_file_settles(capsys: pytest.CaptureFixture[str]) -> None:
    row = SourceStatus("results.jsonl", "(default)", "done", 6508, 6508, 0, 116, superseded=6392)
    dataset = DatasetStatus("(default)", "spoolbridge", "spoolbridge", "spoolbridge.dlq", None, 116)
    dataset.sources = [row]
    report = StatusReport("spoolbridge", [dataset])
    print_status(report)
    out = capsys.readouterr().out
    assert "6392 records share an id with a later record of this file: the last one wins" in out
    assert report.settled  # 116 distinct ids indexed: nothing more will come
    assert report.as_dict()["datasets"][0]["superseded"] == 6392
    row.indexed = 115
    assert not report.settled


def test_documents_beyond_what_the_version_makes_are_said_and_keep_the_file_unsettled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = SourceStatus("a.json", "(default)", "done", 5, 5, 0, 200_000)  # a 200,000-line version replaced
    dataset = DatasetStatus(
        "(default)", "t", "t", "t.dlq", None, 200_000, [PartitionLag(0, 10, 10, 0)], [row]
    )
    report = StatusReport("g", [dataset])
    print_status(report)
    assert "199995 documents more than this version makes" in capsys.readouterr().out
    assert not report.settled
    (listed,) = report.as_dict()["datasets"][0]["sources"]
    assert (listed["surplus"], listed["shortfall"], listed["balances"]) == (199_995, 0, False)


def test_a_removed_file_is_said_with_its_count_and_settles_once_none_of_it_is_indexed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = SourceStatus("cut.json", "(default)", "removed", 0, 0, 0, 4, version=2, removed=4)
    kept = SourceStatus("whole.json", "(default)", "done", 9, 9, 0, 9)
    dataset = DatasetStatus(
        "(default)", "t", "t", "t.dlq", None, 13, [PartitionLag(0, 10, 10, 0)], [row, kept]
    )
    report = StatusReport("g", [dataset])
    assert not report.settled  # four deletes still on their way
    row.indexed = 0
    assert report.settled
    print_status(report)
    assert "version 2, removed on request: 4 documents deleted" in capsys.readouterr().out
    totals = report.as_dict()["datasets"][0]
    assert (totals["produced"], totals["indexed"]) == (9, 9)  # the removed file's documents are not counted
    row.state = "removing"
    assert not report.settled
