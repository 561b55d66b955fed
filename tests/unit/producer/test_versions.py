"""A re-dropped file is a new version that replaces the old one (producer/versions.py, FileProcessor)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import orjson
import pytest
from confluent_kafka import KafkaError

from producer.inbox.versions import IdSet
from tests.unit.producer.test_pipeline import LINES, StandInPublisher, processor, setup


def drop(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_shorter_version_deletes_the_documents_it_no_longer_has(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings)
    run = processor(settings, publisher)
    assert run.process(path).outcome == "done"
    assert publisher.tombstones == []  # a first version deletes nothing

    assert run.process(drop(path, b'{"a": 9}\n')).outcome == "done"
    assert sorted(publisher.tombstones) == ["f.jsonl:2", "f.jsonl:3"]
    manifest = orjson.loads((settings.done_path / "f.jsonl.manifest.json").read_bytes())
    assert manifest["version"] == 2
    assert [
        (v["number"], v["records"], v["replaced_records"], v["deleted"]) for v in manifest["versions"]
    ] == [
        (1, 3, 0, 0),
        (2, 1, 3, 2),
    ]

    publisher.tombstones.clear()
    assert run.process(drop(path, b'{"a": 9}\n')).outcome == "done"  # the same again: nothing stale
    assert publisher.tombstones == []


def test_with_an_id_field_the_ids_a_version_lacks_are_deleted(tmp_path: Path) -> None:
    v1 = b'{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n'
    path, settings = setup(tmp_path, v1, id_field="id")
    publisher = StandInPublisher(settings)
    run = processor(settings, publisher)
    run.process(path)
    run.process(drop(path, b'{"id": "c"}\n{"id": "d"}\n'))
    assert sorted(publisher.tombstones) == ["a", "b"]


def test_an_incomplete_version_deletes_nothing_and_the_next_complete_one_replaces_both(
    tmp_path: Path,
) -> None:
    path, settings = setup(tmp_path, b'[{"n": 1}, {"n": 2}, {"n": 3}]', name="f.json")
    publisher = StandInPublisher(settings)
    run = processor(settings, publisher)
    run.process(path)
    truncated = run.process(drop(path, b'[{"n": 1}, {"n": '))
    assert truncated.outcome == "failed"
    assert publisher.tombstones == []  # a truncated copy must not empty the index
    report = orjson.loads((settings.failed_path / "f.json.error.json").read_bytes())
    assert [v["outcome"] for v in report["details"]["versions"]] == ["done", "failed"]

    assert run.process(drop(path, b'[{"n": 1}]')).outcome == "done"
    assert sorted(publisher.tombstones) == ["f.json:1", "f.json:2"]  # still live after the truncated one


def test_rejected_records_of_a_new_version_are_deleted_too(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings)
    run = processor(settings, publisher)
    run.process(path)
    assert run.process(drop(path, b'{"a": 1}\n[2]\n{"a": 3}\n')).outcome == "failed"  # line 2 rejected
    assert publisher.tombstones == ["f.jsonl:2"]


def test_tombstones_kafka_did_not_acknowledge_leave_the_file_for_a_retry(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings, fail={"f.jsonl:3": KafkaError._MSG_TIMED_OUT})
    run = processor(settings, publisher)
    assert run.process(path).outcome == "retry"  # the record itself timed out
    publisher.fail.clear()
    assert run.process(path).outcome == "done"
    publisher.fail["f.jsonl:3"] = KafkaError._MSG_TIMED_OUT  # now the tombstone times out
    result = run.process(drop(path, b'{"a": 1}\n'))
    assert result.outcome == "retry" and path.exists()
    assert "not acknowledge 1 record" in result.reason
    publisher.fail.clear()
    assert run.process(path).outcome == "done"
    manifest = orjson.loads((settings.done_path / "f.jsonl.manifest.json").read_bytes())
    assert [(v["records"], v["deleted"]) for v in manifest["versions"]] == [(3, 0), (1, 2)]


def test_an_id_set_tells_which_ids_of_a_previous_version_are_stale(tmp_path: Path) -> None:
    previous = tmp_path / "previous.ids"
    previous.write_text("".join(f"id-{i}\n" for i in range(10_000)))
    ids = IdSet(tmp_path / "new.pending")
    ids.write_ahead([f"id-{i}" for i in range(0, 10_000, 2)])
    ids.remove(["id-0"])  # sent, but Kafka refused it
    stale = list(ids.stale(previous))
    assert stale == ["id-0", *(f"id-{i}" for i in range(1, 10_000, 2))]
    final = tmp_path / "final.ids"
    ids.commit(final, keep=["kept"])
    assert final.read_text().splitlines() == [*(f"id-{i}" for i in range(2, 10_000, 2)), "kept"]


def test_ids_of_a_stopped_read_are_deleted_by_the_next_complete_version(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, b"".join(b'{"n": %d}\n' % i for i in range(5000)))
    publisher = StandInPublisher(settings)
    stop = threading.Event()
    stop.set()
    assert processor(settings, publisher, stop).process(path).outcome == "interrupted"
    sent = {key for key, _, _ in publisher.sent}
    assert len(sent) == 1000  # one chunk, its ids written ahead, then the stop was seen

    assert processor(settings, publisher).process(drop(path, b'{"n": 0}\n')).outcome == "done"
    assert sorted(publisher.tombstones) == sorted(sent - {"f.jsonl:1"})
    assert not list(settings.inbox.glob(".spoolbridge/versions/.*.pending"))  # every pending id settled


def test_ids_written_ahead_survive_a_killed_read_whose_last_line_was_cut(tmp_path: Path) -> None:
    pending = tmp_path / ".f.ids.pending"
    pending.write_bytes(b"a\nb\nhalf-of-an-i")  # killed in the middle of a write
    ids = IdSet(pending)
    ids.write_ahead(["a", "c"])
    assert list(ids.stale(tmp_path / "no-previous.ids")) == ["b", "half-of-an-i"]
    ids.commit(tmp_path / "f.ids", keep=[])
    assert (tmp_path / "f.ids").read_text().splitlines() == ["a", "c"]
    assert not pending.exists()


def test_ids_repeated_within_a_file_are_counted_and_the_file_settles(tmp_path: Path) -> None:
    data = b'{"team": "a"}\n{"team": "b"}\n{"team": "a"}\n{"team": "a"}\n'
    path, settings = setup(tmp_path, data, id_field="team")
    result = processor(settings, StandInPublisher(settings)).process(path)
    assert (result.outcome, result.records, result.superseded) == ("done", 4, 2)
    manifest = orjson.loads((settings.done_path / "f.jsonl.manifest.json").read_bytes())
    assert manifest["superseded_in_file"] == 2
    assert manifest["versions"][-1]["superseded_in_file"] == 2


@pytest.mark.parametrize(("source_mode", "expected"), [(0o600, 0o600), (0o640, 0o640), (0o666, 0o666)])
def test_version_files_are_never_readable_by_more_people_than_the_source(
    tmp_path: Path, source_mode: int, expected: int
) -> None:
    path, settings = setup(tmp_path, LINES)
    path.chmod(source_mode)
    old_umask = os.umask(0)
    try:
        run = processor(settings, StandInPublisher(settings))
        assert run.process(path).outcome == "done"
        drop(path, LINES).chmod(source_mode)
        assert run.process(path).outcome == "done"  # a second version's files keep the rule too
    finally:
        os.umask(old_umask)
    folder = settings.inbox / ".spoolbridge" / "versions"
    for name in ("f.jsonl.ids", "f.jsonl.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == expected, name


def test_a_pending_ids_file_is_created_with_the_mode_given(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        ids = IdSet(tmp_path / ".f.ids.pending", 0o640)
        ids.write_ahead(["a"])
        ids.close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / ".f.ids.pending").stat().st_mode) == 0o640
