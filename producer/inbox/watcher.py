"""Watching the inbox: the one-producer-per-inbox lock, the start-up scan, file-system events and rescans.

:class:`InboxLock` holds ``flock`` on an open descriptor of the inbox folder itself: the kernel releases it
when the process dies (even ``kill -9``), so there is no lock file to go stale. :class:`InboxWatcher`
turns watchdog events (recursive) into :class:`FileEvent` items on a queue; the service feeds them to the
:class:`~producer.inbox.readiness.ReadinessTracker`. A folder moved or copied in is scanned, because the files
inside it produce no events of their own; a new folder directly in the inbox (a dataset) is reported too,
so that its topics are made while its first file is still being written (or uploaded).

Events can be lost (the kernel's inotify queue overflows when thousands of files arrive at once), so the
watcher also rescans the whole inbox, in a thread of its own so the service loop stays responsive: at once
when an overflow is reported (one WARNING per burst), and every ``rescan_interval_secs`` as a safety net
(0 = never). A rescan only reports what it finds (``found`` events); the tracker ignores files it already
knows, so nothing is processed twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from producer.inbox.overflow import EventsLostEvent, make_observer
from producer.inbox.readiness import is_input_path
from schemas.errors import ConfigError, SpoolbridgeError

__all__ = ["FileEvent", "InboxLock", "InboxWatcher", "scan_inbox"]

log = logging.getLogger("producer.watcher")  # the name it had before the move: logs are filtered by it

#: written: opened or modified; completed: closed after writing or moved in; attrib: permissions changed;
#: found / found_after_overflow: seen by a rescan (after an overflow, close events may have been lost);
#: dataset: a folder appeared directly in the inbox (its path is the folder's).
EventKind = Literal["written", "completed", "deleted", "attrib", "found", "found_after_overflow", "dataset"]


@dataclass(frozen=True, slots=True)
class FileEvent:
    kind: EventKind
    path: Path


class InboxLock:
    """Exclusive, non-blocking ``flock`` on the inbox folder. Raises :class:`SpoolbridgeError` if held."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.inbox, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            problem = f"cannot open the folder {self.inbox}: {exc.strerror}"
            raise ConfigError("producer.inbox", problem) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise SpoolbridgeError(
                f"another producer is already watching {self.inbox}; run one producer per inbox "
                "(stop the other one, or use another inbox)"
            ) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> InboxLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def scan_inbox(folder: Path, inbox: Path, excluded: tuple[Path, ...]) -> Iterator[Path]:
    """Entries with input names under ``folder`` (inside ``inbox``), skipping hidden, done/ and failed/
    folders and not following links to folders. Links, FIFOs and the like are included (they are refused
    with a reason when processed, rather than ignored in silence); folders are not."""
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d not in excluded)
        for name in sorted(files):
            path = here / name
            if is_input_path(path, inbox, excluded):
                yield path


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: InboxWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        w = self.watcher
        # inotify: a file written in place is created, opened, modified and closed; a file renamed in from
        # elsewhere is only "created" (or "moved" when it came from inside the inbox) and never opened.
        if isinstance(event, (FileClosedEvent, FileClosedNoWriteEvent, FileCreatedEvent)):
            w.emit("completed", event.src_path)
        elif isinstance(event, FileMovedEvent):
            w.emit("deleted", event.src_path)
            w.emit("completed", event.dest_path)
        elif isinstance(event, (FileOpenedEvent, FileModifiedEvent)):
            w.emit("written", event.src_path)
        elif isinstance(event, FileDeletedEvent):
            w.emit("deleted", event.src_path)
        elif isinstance(event, FileAttribEvent):
            w.emit("attrib", event.src_path)
        elif isinstance(event, (DirMovedEvent, DirCreatedEvent)):
            target = event.dest_path if isinstance(event, DirMovedEvent) else event.src_path
            w.scan_folder(Path(os.fsdecode(target)))

    def on_events_lost(self, event: EventsLostEvent) -> None:
        self.watcher.events_lost()


class InboxWatcher:
    """Recursive watchdog observer on ``inbox`` that puts :class:`FileEvent` items on ``events``, plus the
    rescans (see the module docstring)."""

    def __init__(
        self,
        inbox: Path,
        excluded: tuple[Path, ...],
        events: queue.Queue[FileEvent],
        rescan_interval_secs: float = 0.0,
    ) -> None:
        self.inbox = inbox
        self.excluded = excluded
        self.events = events
        self._observer, self.reports_overflow = make_observer()
        # inotify reports "closed after writing"; other back ends do not, so stability alone must do.
        self.reports_close = self.reports_overflow or type(self._observer).__name__.startswith("Inotify")
        self._rescanner = _Rescanner(self, rescan_interval_secs)

    def start(self) -> None:
        self._observer.schedule(_Handler(self), str(self.inbox), recursive=True)
        self._observer.start()
        self._rescanner.start()
        log.info(
            "inbox=%s event=watching close_events=%s overflow_events=%s rescan_interval_secs=%g",
            self.inbox,
            self.reports_close,
            self.reports_overflow,
            self._rescanner.interval,
        )

    def stop(self) -> None:
        self._rescanner.stop()
        self._observer.stop()
        self._observer.join(timeout=5)

    def events_lost(self) -> None:
        """The kernel dropped events: rescan the inbox (logged once per burst of overflows)."""
        self._rescanner.events_lost()

    def emit(self, kind: EventKind, raw_path: bytes | str) -> None:
        path = Path(os.fsdecode(raw_path))
        if is_input_path(path, self.inbox, self.excluded):
            self.events.put(FileEvent(kind, path))

    def scan_folder(self, folder: Path) -> None:
        """A folder created or moved in: its files (they have no events of their own), and, when it is
        directly in the inbox, a ``dataset`` event so its topics exist before its first file is complete."""
        if is_input_path(folder / "x.json", self.inbox, self.excluded):
            if folder.parent == self.inbox:
                self.events.put(FileEvent("dataset", folder))
            for path in scan_inbox(folder, self.inbox, self.excluded):
                self.events.put(FileEvent("completed", path))


class _Rescanner:
    """Walks the inbox on request (after an overflow) and every ``interval`` seconds (0 = only on request),
    putting a ``found`` event on the queue for every entry with an input name."""

    def __init__(self, watcher: InboxWatcher, interval: float) -> None:
        self.watcher = watcher
        self.interval = interval
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._overflow_requested = False
        self._recovering = False  # from the first overflow of a burst until a rescan ran without a new one
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="inbox-rescan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=5)

    def events_lost(self) -> None:
        """Rescan as soon as possible (again, if a rescan is under way: it may have walked past the loss)."""
        with self._lock:
            if not self._recovering:
                log.warning(
                    "inbox=%s event=events_lost cause=inotify_queue_overflow action=rescanning_inbox hint=%r",
                    self.watcher.inbox,
                    "too many files arrived at once for the kernel's event queue; nothing is lost, "
                    "the inbox is rescanned (raise fs.inotify.max_queued_events to make this rarer)",
                )
            self._recovering = True
            self._overflow_requested = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(timeout=self.interval or None)
            if self._stopped:
                return
            self._wake.clear()
            with self._lock:
                after_overflow, self._overflow_requested = self._overflow_requested, False
            self._rescan(after_overflow)

    def _rescan(self, after_overflow: bool) -> None:
        w = self.watcher
        kind: EventKind = "found_after_overflow" if after_overflow else "found"
        started, found = time.monotonic(), 0
        for path in scan_inbox(w.inbox, w.inbox, w.excluded):
            if self._stopped:
                return
            w.events.put(FileEvent(kind, path))
            found += 1
        secs = time.monotonic() - started
        with self._lock:
            recovered = after_overflow and not self._overflow_requested
            if recovered:
                self._recovering = False
        if recovered:
            log.info("inbox=%s event=rescanned reason=events_lost files=%d secs=%.2f", w.inbox, found, secs)
        else:
            log.debug("inbox=%s event=rescanned files=%d secs=%.2f", w.inbox, found, secs)
