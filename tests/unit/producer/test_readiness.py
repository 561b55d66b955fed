"""The name filter and the "file is ready" rule, with a fake clock and fake stat."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from producer.inbox.readiness import ReadinessTracker, is_input_name, is_input_path, relative_source


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("games.json", True),
        ("games.jsonl", True),
        ("games.ndjson", True),
        ("games.json.gz", True),
        ("games.jsonl.gz", True),
        ("games.ndjson.gz", True),
        ("GAMES.JSON", False),
        ("games.xml", False),
        ("games.gz", False),
        ("games.json.zip", False),
        (".games.json", False),
        ("games.json.tmp", False),
        ("games.json.part", False),
        ("games.json~", False),
        ("games.tmp", False),
        (".~lock.games.json#", False),
    ],
)
def test_name_filter(name: str, accepted: bool) -> None:
    assert is_input_name(name) is accepted


@pytest.mark.parametrize(
    ("relative", "accepted"),
    [
        ("a.json", True),
        ("sub/dir/a.json", True),
        ("done/a.json", False),
        ("done/sub/a.json", False),
        ("failed/a.json", False),
        (".hidden/a.json", False),
        ("sub/.cache/a.json", False),
        ("doneish/a.json", True),
    ],
)
def test_path_filter_skips_done_failed_and_hidden_folders(relative: str, accepted: bool) -> None:
    inbox = Path("/in")
    excluded = [inbox / "done", inbox / "failed"]
    assert is_input_path(inbox / relative, inbox, excluded) is accepted


def test_path_outside_the_inbox_is_not_input() -> None:
    assert not is_input_path(Path("/elsewhere/a.json"), Path("/in"))


def test_relative_source_uses_forward_slashes() -> None:
    assert relative_source(Path("/in/a/b/c.json"), Path("/in")) == "a/b/c.json"


class FakeDisk:
    def __init__(self) -> None:
        self.files: dict[Path, tuple[int, int]] = {}

    def stat(self, path: Path) -> tuple[int, int] | None:
        return self.files.get(path)


A = Path("/in/a.json")


def make(settle_ms: int = 300, require_close: bool = True) -> tuple[ReadinessTracker, FakeDisk]:
    disk = FakeDisk()
    return ReadinessTracker(settle_ms, require_close=require_close, stat=disk.stat), disk


def test_completed_file_is_ready_after_settle_time_of_stability() -> None:
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.completed(A, now=0.0)
    assert tracker.ready(0.0) == []  # first look: clock starts
    assert tracker.ready(0.29) == []
    assert tracker.ready(0.31) == [A]
    assert A not in tracker
    assert tracker.ready(1.0) == []


def test_growing_file_is_not_ready_until_stable() -> None:
    tracker, disk = make()
    tracker.completed(A, now=0.0)
    for step in range(10):
        disk.files[A] = (step * 100, step)
        assert tracker.ready(step * 0.2) == []
    assert tracker.ready(2.0) == []
    assert tracker.ready(2.2) == [A]


def test_file_being_written_without_close_is_never_ready_when_close_is_required() -> None:
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.written(A, now=0.0)
    assert tracker.ready(0.0) == []
    assert tracker.ready(100.0) == []
    tracker.completed(A, now=100.0)
    assert tracker.ready(100.0) == []
    assert tracker.ready(100.5) == [A]


def test_without_close_events_stability_alone_makes_a_file_ready() -> None:
    tracker, disk = make(require_close=False)
    disk.files[A] = (10, 1)
    tracker.written(A, now=0.0)
    assert tracker.ready(0.0) == []
    assert tracker.ready(0.5) == [A]


def test_reopening_after_close_makes_the_file_incomplete_until_closed_again() -> None:
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.completed(A, now=0.0)
    tracker.ready(0.0)
    tracker.written(A, now=0.2)
    disk.files[A] = (20, 2)
    assert tracker.ready(0.35) == []
    assert tracker.ready(5.0) == []
    tracker.completed(A, now=5.0)
    assert tracker.ready(5.0) == []
    assert tracker.ready(5.35) == [A]


def test_file_deleted_while_settling_is_forgotten() -> None:
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.completed(A, now=0.0)
    tracker.ready(0.0)
    del disk.files[A]
    assert tracker.ready(1.0) == []
    assert len(tracker) == 0


def test_next_check_in_reports_the_nearest_deadline() -> None:
    tracker, disk = make(settle_ms=1000)
    assert tracker.next_check_in(0.0) is None
    disk.files[A] = (1, 1)
    tracker.completed(A, now=0.0)
    assert tracker.next_check_in(0.25) == pytest.approx(0.75)


def test_real_stat_ignores_directories(tmp_path: Path) -> None:
    (tmp_path / "x.json").mkdir()
    tracker = ReadinessTracker(0)
    tracker.completed(tmp_path / "x.json", now=0.0)
    assert tracker.ready(1.0) == []
    assert len(tracker) == 0


def test_rescan_adds_an_unknown_file_and_leaves_a_known_one_as_it_is() -> None:
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.found(A, now=0.0)  # unknown: tracked as if found at start-up
    assert tracker.ready(0.0) == []
    tracker.found(A, now=0.2)  # known: its clock is not restarted, nothing is added twice
    assert len(tracker) == 1
    assert tracker.ready(0.31) == [A]


def test_rescan_does_not_complete_a_file_still_being_written_unless_events_were_lost() -> None:
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.written(A, now=0.0)
    tracker.found(A, now=1.0)
    assert tracker.ready(1.0) == []
    assert tracker.ready(100.0) == []  # a periodic rescan never takes a file whose writer has it open
    tracker.found(A, now=100.0, after_overflow=True)  # its close event may be among the lost ones
    assert tracker.ready(100.0) == [A]


def test_file_found_by_a_rescan_and_processed_meanwhile_is_dropped_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker, _ = make()
    with caplog.at_level(logging.INFO, logger="producer.readiness"):
        tracker.found(A, now=0.0)  # the rescan saw it just before the service moved it to done/
        assert tracker.ready(1.0) == []
    assert len(tracker) == 0
    assert caplog.records == []


def test_a_file_completed_for_a_later_time_waits_until_then() -> None:
    """The service retries a file by completing it for ``now + delay``: the first look must not reset it."""
    tracker, disk = make()
    disk.files[A] = (10, 1)
    tracker.completed(A, now=5.0)
    assert tracker.ready(0.0) == []
    assert tracker.ready(4.0) == []
    assert tracker.ready(5.31) == [A]
