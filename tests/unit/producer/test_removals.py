"""Removing a file's documents: the requests (producer/inbox/removals.py), the history's ``removed`` entry
(producer/inbox/versions.py) and the producer carrying requests out (producer/removal.py)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from confluent_kafka import KafkaError

from producer.inbox.removals import RemovalRequests, already_removed, removal_problem
from producer.inbox.versions import VersionHistory
from producer.removal import FileRemover
from schemas.datasets import Datasets
from schemas.settings import load_settings
from tests.unit.producer.test_pipeline import LINES, StandInPublisher, processor, setup

pytestmark = pytest.mark.timeout(30)


def _remover(inbox: Path, publisher: StandInPublisher) -> FileRemover:
    datasets = Datasets(load_settings({"kafka": {"topic": "t"}, "producer": {"inbox": inbox}}))
    return FileRemover(inbox, datasets, publisher)


def test_asking_twice_for_one_file_is_one_request_and_done_clears_it(tmp_path: Path) -> None:
    requests = RemovalRequests(tmp_path)
    requests.request("games/a.json")
    requests.request("games/a.json")
    requests.request("games/b.json")
    pending = list(requests.pending())
    assert sorted(r.source for r in pending) == ["games/a.json", "games/b.json"]
    assert requests.is_pending("games/a.json")
    requests.done(next(r for r in pending if r.source == "games/a.json"))
    assert [r.source for r in requests.pending()] == ["games/b.json"]
    assert not requests.is_pending("games/a.json")


def test_a_request_file_that_is_garbage_or_names_another_file_is_not_carried_out(tmp_path: Path) -> None:
    requests = RemovalRequests(tmp_path)
    requests.folder.mkdir(parents=True)
    (requests.folder / "0123.json").write_bytes(b"{not json")
    planted = requests.path_of("games/a.json")
    planted.write_bytes(orjson.dumps({"source": "games/other.json"}))  # its name is another file's
    assert list(requests.pending()) == []


def test_only_a_known_dataset_and_a_file_it_read_can_be_removed(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "games").mkdir(parents=True)
    history = VersionHistory(inbox)
    assert "unknown dataset 'nope'" in (removal_problem(inbox, "nope/a.json") or "")
    assert "unknown dataset 'Bad Name'" in (removal_problem(inbox, "Bad Name/a.json") or "")
    assert "unknown file 'games/a.json'" in (removal_problem(inbox, "games/a.json") or "")
    assert "not a file of the inbox" in (removal_problem(inbox, "../games/a.json") or "")
    pending = history.pending_file("games/a.json")
    pending.parent.mkdir(parents=True)
    pending.write_text("games/a.json:0\n")  # an interrupted read's ids: documents the index may hold
    assert removal_problem(inbox, "games/a.json") is None


def test_removal_deletes_every_id_of_the_versions_then_records_it_and_drops_the_ids(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings)
    assert processor(settings, publisher).process(path).outcome == "done"
    history = VersionHistory(settings.inbox)
    pending = history.pending_file("f.jsonl")
    pending.write_text("f.jsonl:3\nf.jsonl:9\n")  # an interrupted later read sent one more id
    RemovalRequests(settings.inbox).request("f.jsonl")

    removals = _remover(settings.inbox, publisher).carry_out_pending()

    assert [(r.source, r.outcome, r.deleted) for r in removals] == [("f.jsonl", "removed", 4)]
    assert sorted(publisher.tombstones) == ["f.jsonl:1", "f.jsonl:2", "f.jsonl:3", "f.jsonl:9"]
    versions = history.versions("f.jsonl")
    assert [(v.number, v.outcome, v.records, v.replaced_records, v.deleted) for v in versions] == [
        (1, "done", 3, 0, 0),
        (2, "removed", 0, 3, 4),
    ]
    assert versions[-1].sha256 == ""  # no version is live: the file's dead letters are superseded
    assert not history.has_ids("f.jsonl")
    assert list(RemovalRequests(settings.inbox).pending()) == []
    assert already_removed(history, "f.jsonl") == versions[-1]


def test_tombstones_kafka_did_not_acknowledge_keep_the_request_and_record_nothing(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    assert processor(settings, StandInPublisher(settings)).process(path).outcome == "done"
    RemovalRequests(settings.inbox).request("f.jsonl")
    failing = StandInPublisher(settings, fail={"f.jsonl:2": KafkaError._MSG_TIMED_OUT})

    assert [r.outcome for r in _remover(settings.inbox, failing).carry_out_pending()] == ["retry"]
    history = VersionHistory(settings.inbox)
    assert [v.outcome for v in history.versions("f.jsonl")] == ["done"]
    assert history.has_ids("f.jsonl")

    again = StandInPublisher(settings)  # the next round sends the same tombstones
    assert [r.outcome for r in _remover(settings.inbox, again).carry_out_pending()] == ["removed"]
    assert sorted(again.tombstones) == ["f.jsonl:1", "f.jsonl:2", "f.jsonl:3"]


def test_a_removal_repeated_after_a_crash_is_one_removed_entry(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    assert processor(settings, StandInPublisher(settings)).process(path).outcome == "done"
    history = VersionHistory(settings.inbox)
    ids = history.ids_file("f.jsonl").read_bytes()
    history.record_removal("f.jsonl", 3)
    history.ids_file("f.jsonl").write_bytes(ids)  # killed after the history, before the ids went
    RemovalRequests(settings.inbox).request("f.jsonl")

    publisher = StandInPublisher(settings)
    assert [r.deleted for r in _remover(settings.inbox, publisher).carry_out_pending()] == [3]
    assert [(v.number, v.outcome, v.deleted) for v in history.versions("f.jsonl")] == [
        (1, "done", 0),
        (2, "removed", 3),
    ]
    # asked again once it is removed: nothing to send, the history unchanged
    RemovalRequests(settings.inbox).request("f.jsonl")
    quiet = StandInPublisher(settings)
    assert [r.outcome for r in _remover(settings.inbox, quiet).carry_out_pending()] == ["already_removed"]
    assert quiet.tombstones == []
    assert len(history.versions("f.jsonl")) == 2


def test_a_file_dropped_again_after_its_removal_is_its_next_version(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings)
    run = processor(settings, publisher)
    assert run.process(path).outcome == "done"
    RemovalRequests(settings.inbox).request("f.jsonl")
    _remover(settings.inbox, publisher).carry_out_pending()
    publisher.tombstones.clear()

    path.write_bytes(LINES)
    assert run.process(path).outcome == "done"
    assert publisher.tombstones == []  # the removal left nothing to replace
    versions = VersionHistory(settings.inbox).versions("f.jsonl")
    assert [(v.number, v.outcome, v.records, v.replaced_records) for v in versions] == [
        (1, "done", 3, 0),
        (2, "removed", 0, 3),
        (3, "done", 3, 0),
    ]


def test_a_removed_files_dead_letters_are_superseded_so_no_replay_brings_one_back(tmp_path: Path) -> None:
    from schemas.letter_ledger import is_superseded
    from spoolbridge.letter_versions import LatestVersions

    path, settings = setup(tmp_path, LINES)
    assert processor(settings, StandInPublisher(settings)).process(path).outcome == "done"
    latest = LatestVersions(settings.inbox)
    sha256 = latest("f.jsonl")
    assert sha256 and not is_superseded(sha256, latest("f.jsonl"))
    VersionHistory(settings.inbox).record_removal("f.jsonl", 3)
    assert is_superseded(sha256, latest("f.jsonl"))
