"""One file's place in the pipeline, from the producer's own records: waiting, reading, done, failed."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from schemas.datasets import Datasets
from schemas.settings import ProducerSettings, Settings
from spoolbridge.status import DatasetStatus, _SourceRows, balances
from spoolbridge.topic_expiry import PartitionLag, expired_within
from spoolbridge.web.catalog import Catalog
from spoolbridge.web.progress import FileProgress, GroupLagCache, Progress, source_problem

SOURCE = "games/steam.json"


def _progress(inbox: Path) -> Progress:
    settings = Settings(producer=ProducerSettings(inbox=inbox))
    return Progress(settings, Catalog(settings))


def _ledger(inbox: Path) -> FileProgress:
    numbers = FileProgress(SOURCE)
    _progress(inbox)._ledger(numbers)
    return numbers


def test_a_file_still_in_the_inbox_is_waiting_even_with_an_older_report(tmp_path: Path) -> None:
    (tmp_path / "games").mkdir()
    (tmp_path / "games" / "steam.json").write_text("[]")
    (tmp_path / "done" / "games").mkdir(parents=True)
    (tmp_path / "done" / "games" / "steam.json.manifest.json").write_text('{"records": 3}')
    assert _ledger(tmp_path).state == "waiting"


def test_the_producers_note_says_how_far_it_read(tmp_path: Path) -> None:
    note = {"source": SOURCE, "records": 1234, "pid": os.getpid()}
    (tmp_path / ".spoolbridge").mkdir()
    (tmp_path / ".spoolbridge" / "reading.json").write_text(json.dumps(note))
    numbers = _ledger(tmp_path)
    assert (numbers.state, numbers.read, numbers.produced) == ("reading", 1234, None)
    assert not numbers.settled


def test_a_done_file_has_the_manifests_numbers(tmp_path: Path) -> None:
    (tmp_path / "done" / "games").mkdir(parents=True)
    (tmp_path / "done" / "games" / "steam.json.manifest.json").write_text(
        '{"source": "games/steam.json", "records": 50, "rejected": 0}'
    )
    numbers = _ledger(tmp_path)
    assert (numbers.state, numbers.read, numbers.produced, numbers.rejected) == ("done", 50, 50, 0)
    numbers.indexed, numbers.dead_lettered = 48, 1
    assert not numbers.settled
    numbers.indexed = 49
    assert numbers.settled


def test_a_failed_file_has_the_producers_reason_and_its_rejected_records(tmp_path: Path) -> None:
    (tmp_path / "failed" / "games").mkdir(parents=True)
    report = {
        "source": SOURCE,
        "what": "the file ends in the middle of a record",
        "what_to_do": "fix it and drop it again",
        "records_produced": 2,
        "records_rejected": 1,
        "rejected_file": "steam.json.rejected.jsonl",
    }
    (tmp_path / "failed" / "games" / "steam.json.error.json").write_text(json.dumps(report))
    numbers = _ledger(tmp_path)
    assert (numbers.state, numbers.read, numbers.produced, numbers.rejected) == ("failed", 3, 2, 1)
    assert numbers.reason == "the file ends in the middle of a record"
    assert numbers.what_to_do == "fix it and drop it again"
    assert numbers.has_rejected_file


def test_a_report_that_names_another_file_is_not_believed(tmp_path: Path) -> None:
    """A report is a file's only when it names that file (a planted one cannot speak for it)."""
    (tmp_path / "done" / "games").mkdir(parents=True)
    forged = '{"source": "games/other.json", "records": 999, "rejected": 0}'
    (tmp_path / "done" / "games" / "steam.json.manifest.json").write_text(forged)
    numbers = _ledger(tmp_path)
    assert (numbers.state, numbers.produced) == ("unknown", None)


@pytest.mark.parametrize(
    "source", ["steam.json", "/games/a.json", "games/../x.json", "games/.a.json.part", "Games/a.json", "./a"]
)
def test_a_source_must_be_a_file_inside_a_dataset(source: str) -> None:
    assert source_problem(source) is not None


def test_a_source_may_be_nested_inside_its_dataset() -> None:
    assert source_problem("games/2024/steam.json") is None


def test_the_report_download_is_the_files_own_report_only(client: TestClient, inbox: Path) -> None:
    (inbox / "done" / "games").mkdir(parents=True)
    own = '{"source": "games/a.json", "records": 2}'
    (inbox / "done" / "games" / "a.json.manifest.json").write_text(own)
    (inbox / "done" / "games" / "b.json.manifest.json").write_text('{"source": "games/a.json", "records": 9}')
    assert client.get("/api/reports/report", params={"source": "games/a.json"}).text == own
    planted = client.get("/api/reports/report", params={"source": "games/b.json"})
    assert planted.status_code == 404


def test_a_file_whose_ids_repeat_settles_when_its_distinct_ids_are_indexed(tmp_path: Path) -> None:
    (tmp_path / "done" / "games").mkdir(parents=True)
    manifest = '{"source": "games/steam.json", "records": 6508, "rejected": 0, "superseded_in_file": 6392}'
    (tmp_path / "done" / "games" / "steam.json.manifest.json").write_text(manifest)
    numbers = _ledger(tmp_path)
    assert (numbers.produced, numbers.superseded) == (6508, 6392)
    numbers.indexed, numbers.dead_lettered = 115, 0
    assert not numbers.settled
    numbers.indexed = 116  # one document per distinct id: the last record of each wins
    assert numbers.settled


@pytest.mark.parametrize(
    ("indexed", "dead_lettered"),
    [(50, 0), (48, 2), (49, 0), (52, 0), (50, 1)],  # balanced, letters, short, surplus, letter twice
)
@pytest.mark.parametrize("report", ["done", "failed"])
def test_the_page_and_status_give_the_same_verdict_for_the_same_file(
    tmp_path: Path, report: str, indexed: int, dead_lettered: int
) -> None:
    """Both read the file's report from disk (their own code) and close the one ledger with the same
    downstream counts: the same terms, the same shortfall, surplus and verdict."""
    if report == "done":
        body = {"source": SOURCE, "records": 55, "rejected": 0, "superseded_in_file": 5}
        name = "done/games/steam.json.manifest.json"
    else:
        body = {"source": SOURCE, "what": "x", "what_to_do": "y", "records_produced": 55,
                "records_rejected": 2, "records_superseded_in_file": 5}  # fmt: skip
        name = "failed/games/steam.json.error.json"
    (tmp_path / name).parent.mkdir(parents=True)
    (tmp_path / name).write_text(json.dumps(body))
    page = _ledger(tmp_path)
    page.indexed, page.dead_lettered = indexed, dead_lettered
    settings = Settings(producer=ProducerSettings(inbox=tmp_path))
    rows = _SourceRows(settings, Datasets(settings))
    rows.read_inbox()
    row = rows.rows[SOURCE]
    row.indexed, row.dead_lettered = indexed, dead_lettered
    assert page.account == row.account()
    assert page.settled is balances(row) is (indexed == 50 or (indexed == 48 and dead_lettered == 2))
    shown = page.as_dict()
    dataset = DatasetStatus("games", "t", "t", "t.dlq", sources=[row])
    (listed,) = dataset.as_dict()["sources"]
    for figure in ("documents_expected", "shortfall", "surplus", "unknown"):
        assert shown[figure] == listed[figure], figure
    assert shown["settled"] is listed["balances"]


def test_a_figure_the_page_cannot_have_is_unknown_with_why(tmp_path: Path) -> None:
    (tmp_path / "done" / "games").mkdir(parents=True)
    manifest = '{"source": "games/steam.json", "records": 50, "rejected": 0}'
    (tmp_path / "done" / "games" / "steam.json.manifest.json").write_text(manifest)
    numbers = _ledger(tmp_path)
    numbers.problem = "OpenSearch at http://127.0.0.1:1 did not answer (ConnectionError)"
    assert not numbers.settled  # never a guess of 0 indexed
    assert numbers.as_dict()["unknown"] == f"indexed, dead-lettered unknown, because {numbers.problem}"


def test_a_file_whose_shortfall_expired_settles_on_the_page_with_the_figures_status_shows(
    tmp_path: Path,
) -> None:
    """The page and ``status --json`` place the same file on the same expired offsets with the same code
    (:func:`spoolbridge.topic_expiry.expired_within`) and close its ledger with the same figures."""
    (tmp_path / "done" / "games").mkdir(parents=True)
    manifest = {"source": SOURCE, "records": 100, "rejected": 0, "offsets": {"0": [200, 299]}}
    (tmp_path / "done" / "games" / "steam.json.manifest.json").write_text(json.dumps(manifest))
    partitions = [PartitionLag(0, 300, 300, 0, 150, [(100, 249)])]  # 200-249 of this file expired
    page = _ledger(tmp_path)
    page.indexed, page.dead_lettered = 50, 0
    assert not page.settled  # not yet known to be expiry's: the page asks only when short
    page.may_have_expired = expired_within(page.offsets, partitions)
    shown = page.as_dict()
    assert (page.settled, shown["expired"], shown["shortfall"], shown["balances"]) == (True, 50, 50, False)
    page.indexed = 40  # short of more than the 50 of its offsets that expired: not the expiry's alone
    assert (page.settled, page.as_dict()["expired"]) == (False, 50)
    page.indexed = 50

    settings = Settings(producer=ProducerSettings(inbox=tmp_path))
    rows = _SourceRows(settings, Datasets(settings))
    rows.read_inbox()
    row = rows.rows[SOURCE]
    row.indexed, row.dead_lettered = 50, 0
    dataset = DatasetStatus("games", "t", "t", "t.dlq", partitions=partitions, sources=[row])
    (listed,) = dataset.as_dict()["sources"]
    figures = ("produced", "indexed", "dead_lettered", "documents_expected", "shortfall", "surplus",
               "balances", "unknown", "hit_by_expiry", "expired", "may_have_expired", "settled")  # fmt: skip
    for figure in figures:
        assert shown[figure] == listed[figure], figure
    assert page.account == dataset.accounts()[0]


def test_the_group_offsets_are_read_once_per_topic_however_many_cards_ask() -> None:
    reads: list[str] = []
    now = [0.0]

    def read(topic: str) -> list[PartitionLag]:
        reads.append(topic)
        return [PartitionLag(0, 1, 1, 0, len(reads))]

    cache = GroupLagCache(read, max_age_secs=2.0, clock=lambda: now[0])
    for _ in range(10):
        assert cache.partitions("t")[0].expired == 1
    cache.partitions("u")
    assert reads == ["t", "u"]
    now[0] = 2.5  # older than two seconds: read again
    assert cache.partitions("t")[0].expired == 3
    assert reads == ["t", "u", "t"]


def test_a_group_offset_read_that_failed_is_not_retried_by_every_card() -> None:
    calls = [0]
    now = [0.0]

    def read(topic: str) -> list[PartitionLag]:
        calls[0] += 1
        raise RuntimeError("Kafka is down")

    cache = GroupLagCache(read, max_age_secs=2.0, clock=lambda: now[0])
    for _ in range(5):
        with pytest.raises(RuntimeError, match="Kafka is down"):
            cache.partitions("t")
    assert calls == [1]
    now[0] = 3.0
    with pytest.raises(RuntimeError):
        cache.partitions("t")
    assert calls == [2]


def test_the_group_offset_cache_keeps_a_bounded_number_of_topics() -> None:
    reads: list[str] = []

    def read(topic: str) -> list[PartitionLag]:
        reads.append(topic)
        return []

    cache = GroupLagCache(read, clock=lambda: 0.0)
    for number in range(500):
        cache.partitions(f"t{number}")
    cache.partitions("t499")  # among the latest: still known
    assert len(reads) == 500
    cache.partitions("t0")  # the oldest made room long ago: read again
    assert reads[-1] == "t0" and len(reads) == 501


@pytest.mark.timeout(30)
def test_cards_of_one_topic_asking_at_once_wait_for_one_read_and_other_topics_do_not_wait() -> None:
    reads: list[str] = []
    started, release = threading.Event(), threading.Event()

    def read(topic: str) -> list[PartitionLag]:
        reads.append(topic)
        if topic == "slow":
            started.set()
            assert release.wait(10)
        return []

    cache = GroupLagCache(read, clock=lambda: 0.0)
    cards = [threading.Thread(target=cache.partitions, args=("slow",)) for _ in range(5)]
    for card in cards:
        card.start()
    assert started.wait(10)
    assert cache.partitions("other") == []  # while the slow topic's read is under way
    release.set()
    for card in cards:
        card.join(10)
    assert sorted(reads) == ["other", "slow"]
