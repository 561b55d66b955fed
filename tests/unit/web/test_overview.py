"""The datasets overview's row (spoolbridge/web/overview.py): status's figures for one dataset and the
times and numbers of its files' versions; a row never holds a figure status does not give."""

from __future__ import annotations

from pathlib import Path

from producer.inbox.versions import Version, VersionHistory
from spoolbridge.status import DatasetStatus, SourceStatus
from spoolbridge.web.overview import dataset_row


def _version(
    history: VersionHistory, source: str, number: int, finished_at: str, outcome: str = "done"
) -> None:
    ids = history.new_ids(source)
    history.record(source, Version(number, "ab" * 32, 2, "done", finished_at), ids, [])


def test_a_datasets_row_counts_its_files_versions_and_letters_from_the_ledger(tmp_path: Path) -> None:
    history = VersionHistory(tmp_path)
    _version(history, "games/a.json", 1, "2026-12-01T10:00:00+00:00")
    _version(history, "games/a.json", 2, "2026-12-02T09:00:00+00:00")
    _version(history, "games/b.json", 1, "2026-12-01T12:00:00+00:00")
    sources = [
        SourceStatus("games/a.json", "games", "done", read=2, produced=2, indexed=1, dead_lettered=1),
        SourceStatus("games/b.json", "games", "removed", read=0, produced=0, removed=2),
        SourceStatus("games/c.json", "games", "waiting"),  # no version yet
    ]
    status = DatasetStatus("games", "t-games", "games", "t-dlq", index_documents=1, sources=sources)
    row = dataset_row(status, history)
    assert row == {
        "dataset": "games", "index": "games", "documents": 1, "files": 3, "versions": 3, "removed": 1,
        "last_settled": "2026-12-02T09:00:00+00:00", "dead_letters": 1, "rejected": 0,
        "balances": False,  # a file is still waiting
        "problem": None,
    }  # fmt: skip


def test_a_dataset_of_no_settled_file_says_so_rather_than_a_time(tmp_path: Path) -> None:
    status = DatasetStatus("empty", "t-empty", "empty", "t-dlq", index_documents=None)
    row = dataset_row(status, VersionHistory(tmp_path))
    assert (row["documents"], row["files"], row["versions"], row["last_settled"]) == (None, 0, 0, None)
