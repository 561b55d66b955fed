"""Watching the inbox: the one-producer-per-inbox lock, the start-up scan, and file-system events.

:class:`InboxLock` holds ``flock`` on an open descriptor of the inbox folder itself: the kernel releases it
when the process dies (even ``kill -9``), so there is no lock file to go stale. :class:`InboxWatcher`
turns watchdog events (recursive) into :class:`FileEvent` items on a queue; the service feeds them to the
:class:`~producer.readiness.ReadinessTracker`. A folder moved or copied in is scanned, because the files
inside it produce no events of their own.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
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
from watchdog.observers import Observer

from producer.readiness import is_input_path
from schemas.errors import ConfigError, SpoolbridgeError

__all__ = ["FileEvent", "InboxLock", "InboxWatcher", "scan_inbox"]

log = logging.getLogger(__name__)

EventKind = Literal["written", "completed", "deleted"]


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
    """Input files under ``folder`` (inside ``inbox``), skipping hidden, done/ and failed/ folders."""
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d not in excluded)
        for name in sorted(files):
            path = here / name
            if is_input_path(path, inbox, excluded) and path.is_file():
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
        elif isinstance(event, (DirMovedEvent, DirCreatedEvent)):
            target = event.dest_path if isinstance(event, DirMovedEvent) else event.src_path
            w.scan_folder(Path(os.fsdecode(target)))


class InboxWatcher:
    """Recursive watchdog observer on ``inbox`` that puts :class:`FileEvent` items on ``events``."""

    def __init__(self, inbox: Path, excluded: tuple[Path, ...], events: queue.Queue[FileEvent]) -> None:
        self.inbox = inbox
        self.excluded = excluded
        self.events = events
        self._observer = Observer()
        # inotify reports "closed after writing"; other back ends do not, so stability alone must do.
        self.reports_close = type(self._observer).__name__.startswith("Inotify")

    def start(self) -> None:
        self._observer.schedule(_Handler(self), str(self.inbox), recursive=True)
        self._observer.start()
        log.info("inbox=%s event=watching close_events=%s", self.inbox, self.reports_close)

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def emit(self, kind: EventKind, raw_path: bytes | str) -> None:
        path = Path(os.fsdecode(raw_path))
        if is_input_path(path, self.inbox, self.excluded):
            self.events.put(FileEvent(kind, path))

    def scan_folder(self, folder: Path) -> None:
        if is_input_path(folder / "x.json", self.inbox, self.excluded):
            for path in scan_inbox(folder, self.inbox, self.excluded):
                self.events.put(FileEvent("completed", path))
