"""``spoolbridge forget <dataset>/<file> [--wait]``: one line saying what it did, or a one-line error
(spoolbridge/forget.py). The producer's half is tested in tests/unit/producer/test_removals.py and, with
Kafka and OpenSearch, in tests/integration/test_forget.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from producer.inbox.removals import RemovalRequests
from producer.inbox.versions import VersionHistory
from spoolbridge.cli import main

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("SPOOLBRIDGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "inbox"
    (folder / "games").mkdir(parents=True)
    ids = VersionHistory(folder).ids_file("games/a.json")
    ids.parent.mkdir(parents=True)
    ids.write_text("games/a.json:0\n")
    return folder


def test_forget_asks_the_producer_in_one_line(inbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forget", "games/a.json", "--inbox", str(inbox)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "asked the producer to remove every document of games/a.json" in out
    assert [r.source for r in RemovalRequests(inbox).pending()] == ["games/a.json"]


def test_an_unknown_dataset_or_file_is_a_one_line_error(
    inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forget", "films/a.json", "--inbox", str(inbox)]) == 1
    assert capsys.readouterr().err == (
        "spoolbridge: error: unknown dataset 'films': the inbox has no folder of that name "
        "(status lists the datasets)\n"
    )
    assert main(["forget", "games/b.json", "--inbox", str(inbox)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spoolbridge: error: unknown file 'games/b.json'") and err.count("\n") == 1
    assert list(RemovalRequests(inbox).pending()) == []


def test_wait_without_a_producer_times_out_with_exit_3_and_keeps_the_request(
    inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forget", "games/a.json", "--inbox", str(inbox), "--wait", "0.3"]) == 3
    assert "not removed yet after 0.3 s: is the producer running" in capsys.readouterr().out
    assert RemovalRequests(inbox).is_pending("games/a.json")


def test_a_file_already_removed_says_so_with_its_count(
    inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    VersionHistory(inbox).record_removal("games/a.json", 1)
    assert main(["forget", "games/a.json", "--inbox", str(inbox), "--wait"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("games/a.json is already removed: 1 document deleted from its dataset (version 1")
    assert list(RemovalRequests(inbox).pending()) == []
