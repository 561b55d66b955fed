"""``spoolbridge status`` as text: at most 80 columns, names never cut, waiting and replaced files noted."""

from __future__ import annotations

import pytest

from spoolbridge.status import DatasetStatus, PartitionLag, SourceStatus, StatusReport, print_status

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
