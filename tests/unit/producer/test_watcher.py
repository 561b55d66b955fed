"""The watcher's rescans: after the kernel dropped events (a real inotify overflow), and periodically."""

from __future__ import annotations

import logging
import queue
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from producer.inbox.watcher import EventKind, FileEvent, InboxWatcher

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux-only")


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def watch(inbox: Path) -> Iterator[tuple[InboxWatcher, queue.Queue[FileEvent]]]:
    events: queue.Queue[FileEvent] = queue.Queue()
    watcher = InboxWatcher(inbox, (inbox / "done", inbox / "failed"), events, rescan_interval_secs=0)
    watcher.start()
    try:
        yield watcher, events
    finally:
        watcher.stop()


def collect(events: queue.Queue[FileEvent], kind: EventKind, want: int, timeout: float = 20.0) -> set[Path]:
    """Paths of ``kind`` events until ``want`` distinct ones arrived (or the time is up)."""
    seen: set[Path] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.2)
        except queue.Empty:
            continue
        if event.kind == kind:
            seen.add(event.path)
    return seen


@pytest.mark.timeout(60)
def test_a_real_inotify_overflow_is_logged_once_and_the_inbox_is_rescanned(
    watch: tuple[InboxWatcher, queue.Queue[FileEvent]], inbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, events = watch
    assert watcher.reports_overflow
    count = 6000  # 4 events each (create, open, modify, close): beyond the kernel's 16384 while held back
    with caplog.at_level(logging.INFO):
        # hold watchdog's reader back (it takes this lock after each read) so the kernel queue overflows
        with watcher._observer._inotify_fd._lock:  # type: ignore[attr-defined]
            for i in range(count):
                (inbox / f"f{i}.json").write_bytes(b"{}")
        found = collect(events, "found_after_overflow", count)
        deadline = time.monotonic() + 10
        while "reason=events_lost" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert found == {inbox / f"f{i}.json" for i in range(count)}
    ours = [r for r in caplog.records if "event=events_lost" in r.getMessage()]
    assert len(ours) == 1
    assert ours[0].levelno == logging.WARNING
    assert "action=rescanning_inbox" in ours[0].getMessage()
    assert "Inotify queue overflowed" not in caplog.text  # watchdog's own lines would say it twice more
    assert "event=rescanned reason=events_lost files=6000" in caplog.text


@pytest.mark.timeout(30)
def test_overflows_in_one_burst_give_one_warning(
    watch: tuple[InboxWatcher, queue.Queue[FileEvent]], inbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, events = watch
    (inbox / "sub").mkdir()
    (inbox / "sub" / "a.jsonl").write_bytes(b"{}\n")
    (inbox / "done").mkdir()
    (inbox / "done" / "old.json").write_bytes(b"{}")
    with caplog.at_level(logging.INFO):
        watcher.events_lost()
        watcher.events_lost()
        watcher.events_lost()
        assert collect(events, "found_after_overflow", 1) == {inbox / "sub" / "a.jsonl"}
    assert caplog.text.count("event=events_lost") == 1


@pytest.mark.timeout(30)
def test_periodic_rescan_reports_every_input_entry(inbox: Path) -> None:
    events: queue.Queue[FileEvent] = queue.Queue()
    watcher = InboxWatcher(inbox, (inbox / "done", inbox / "failed"), events, rescan_interval_secs=0.2)
    (inbox / "a.json").write_bytes(b"{}")
    (inbox / "b.json.part").write_bytes(b"{}")  # not an input name
    (inbox / "link.json").symlink_to("a.json")  # reported, so that it is refused with a reason
    watcher.start()
    try:
        assert collect(events, "found", 2) == {inbox / "a.json", inbox / "link.json"}
        assert collect(events, "found", 2) == {inbox / "a.json", inbox / "link.json"}  # and again
    finally:
        watcher.stop()
