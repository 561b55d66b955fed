"""How the service loop feeds events to the readiness tracker (no broker, no file system events)."""

from __future__ import annotations

import queue
from pathlib import Path

from producer.inbox.readiness import ReadinessTracker
from producer.inbox.watcher import EventKind, FileEvent
from producer.service import _drain

A = Path("/in/a.json")


def drained(*events: tuple[EventKind, Path], unreadable: dict[Path, str] | None = None) -> ReadinessTracker:
    tracker = ReadinessTracker(0, require_close=True, stat=lambda path: (1, 1))
    q: queue.Queue[FileEvent] = queue.Queue()
    for kind, path in events:
        q.put(FileEvent(kind, path))
    _drain(q, tracker, unreadable if unreadable is not None else {}, timeout=0.01)
    return tracker


def test_an_attribute_change_retries_a_file_that_could_not_be_read() -> None:
    tracker = drained(("attrib", A), unreadable={A: "Permission denied"})
    tracker.ready(0.0)
    assert tracker.ready(1e9) == [A]  # completed: a chmod brings no close event


def test_an_attribute_change_of_an_ordinary_file_is_ignored() -> None:
    assert len(drained(("attrib", A))) == 0


def test_a_write_to_a_file_that_could_not_be_read_retries_it_too() -> None:
    tracker = drained(("written", A), unreadable={A: "Permission denied"})
    tracker.ready(0.0)
    assert tracker.ready(1e9) == [A]


def test_a_rescan_retries_a_file_that_could_not_be_read_and_deletion_forgets_it() -> None:
    unreadable = {A: "Permission denied"}
    tracker = drained(("found", A), unreadable=unreadable)  # not pending: the rescan adds it again
    assert A in tracker
    tracker = drained(("deleted", A), unreadable=unreadable)
    assert A not in tracker
    assert unreadable == {}


def test_a_rescan_does_not_complete_a_file_being_written_but_after_lost_events_it_does() -> None:
    tracker = drained(("written", A), ("found", A))
    tracker.ready(0.0)
    assert tracker.ready(1e9) == []
    tracker = drained(("written", A), ("found_after_overflow", A))
    tracker.ready(0.0)
    assert tracker.ready(1e9) == [A]
