"""A watchdog observer that tells its handler when the kernel dropped file-system events.

inotify has a bounded event queue (``fs.inotify.max_queued_events``, 16384 by default); a burst such as
``cp -r`` of thousands of files overflows it, and the kernel then reports a single ``IN_Q_OVERFLOW``
instead of the events it dropped. watchdog (7.1 and later, the required version) handles that by
rebuilding its recursive watches and calling ``on_queue_overflow`` on each watch group, but it tells the
event handler nothing. This module hooks
that call: the watch group of our emitter queues an :class:`EventsLostEvent`, dispatched to the handler's
``on_events_lost`` in order with the other events, so the watcher can rescan the inbox.

:func:`make_observer` returns that observer where inotify is in use, else watchdog's default observer
(other back ends report no overflow; the periodic rescan covers them).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from watchdog.events import FileSystemEvent
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

__all__ = ["EVENTS_LOST", "EventsLostEvent", "make_observer"]

log = logging.getLogger("producer.overflow")  # the name it had before the move: logs are filtered by it

EVENTS_LOST = "events_lost"


class EventsLostEvent(FileSystemEvent):
    """The kernel dropped events below ``src_path`` (its queue overflowed): the folder must be rescanned."""

    event_type = EVENTS_LOST


class _WatchdogOverflowWarning(logging.Filter):
    """Drops watchdog's own overflow warnings: the watcher logs one line that also says what it does."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Inotify queue overflowed")


def make_observer() -> tuple[BaseObserver, bool]:
    """An observer, and whether it reports lost events (see the module docstring)."""
    try:
        from watchdog.observers.inotify import InotifyEmitter, InotifyObserver, InotifyWatchGroup
        from watchdog.observers.inotify_c import InotifyFD
    except ImportError:  # not Linux
        return Observer(), False
    if not (isinstance(Observer, type) and issubclass(Observer, InotifyObserver)) or not hasattr(
        InotifyWatchGroup, "on_queue_overflow"
    ):
        return Observer(), False

    @dataclass
    class ReportingWatchGroup(InotifyWatchGroup):
        emitter: InotifyEmitter | None = None

        def on_queue_overflow(self) -> None:
            super().on_queue_overflow()  # watchdog rebuilds the recursive watches
            if self.emitter is not None:
                self.emitter.queue_event(EventsLostEvent(os.fsdecode(self.path)))

    class ReportingEmitter(InotifyEmitter):
        def on_thread_start(self) -> None:  # as InotifyEmitter's, with the reporting watch group
            self._inotify = ReportingWatchGroup(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
                emitter=self,
            )

    class ReportingObserver(BaseObserver):
        def __init__(self) -> None:  # as InotifyObserver's, with the reporting emitter
            self._inotify_fd = InotifyFD()
            self._inotify_fd.start()
            super().__init__(ReportingEmitter, inotify_fd=self._inotify_fd)

        def on_thread_stop(self) -> None:
            super().on_thread_stop()
            self._inotify_fd.stop()
            self._inotify_fd.join()

    for name in ("watchdog.observers.inotify", "watchdog.observers.inotify_c"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _WatchdogOverflowWarning) for f in logger.filters):
            logger.addFilter(_WatchdogOverflowWarning())
    return ReportingObserver(), True
