"""The producer service: ``spoolbridge produce --inbox DIR [--once]``.

``run`` takes the inbox lock (one producer per inbox) and its entry in the producers' registry (no
producer on an inbox inside or around another's, :mod:`producer.inbox.inbox_registry`), creates the topics,
then processes every ready file — those already in the inbox at start-up and, unless ``once``, every
file that arrives later — one at a time, until SIGTERM/SIGINT. A file interrupted by a signal stays in
the inbox and is processed again on the next start. Besides events, the watcher rescans the inbox after
lost events and every ``producer.rescan_interval_secs``, so no file is left behind while the producer
runs. A file whose reports or ids do not fit on the disk (outcome ``no_space``) stays in the inbox and is
tried again after a back-off (1 s, doubling, at most 30 s), while other files are read meanwhile; nothing
stops. Exit code: 0; with ``once``, 1 if any file failed, could not be read, or could not be confirmed by
Kafka.

Around each file: its metrics (:mod:`producer.metrics`), the heartbeat ``/healthz`` watches, and the
progress display on a terminal (:mod:`producer.progress`). Between files, the removals that
``spoolbridge forget`` or the page asked for (:mod:`producer.removal`), so that only this process writes
the version history.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from producer.inbox.inbox_registry import ProducerRegistry
from producer.inbox.ledger import FileLedger
from producer.inbox.readiness import ReadinessTracker, relative_source
from producer.inbox.watcher import FileEvent, InboxLock, InboxWatcher, scan_inbox
from producer.metrics import ProducerMetrics, producer_metrics
from producer.pipeline import FileProcessor, FileResult
from producer.progress import FileProgress, NoProgress, file_progress
from producer.publish.publisher import Publisher
from producer.read.decompress import is_gzip_name
from producer.removal import FileRemover
from schemas.datasets import Datasets
from schemas.disk import DiskBackoff
from schemas.errors import ConfigError
from schemas.health import Heartbeat
from schemas.settings import Settings
from schemas.signals import on_stop_signals

__all__ = ["DISK_FULL_MAX_DELAY_SECS", "RETRY_DELAY_SECS", "run"]

log = logging.getLogger(__name__)

#: A file Kafka could not confirm is tried again after this long (it stays in the inbox meanwhile).
RETRY_DELAY_SECS = 5.0
#: The longest wait before a file that did not fit on the disk is tried again.
DISK_FULL_MAX_DELAY_SECS = 30.0


def run(
    settings: Settings,
    *,
    once: bool,
    stop: threading.Event | None = None,
    heartbeat: Heartbeat | None = None,
    progress: str = "auto",
) -> int:
    """Run the producer (see the module docstring) until ``stop`` is set or SIGTERM/SIGINT arrives.

    ``heartbeat`` is beaten by the loop (for ``/healthz``); ``progress`` chooses the display
    (:func:`producer.progress.file_progress`: ``auto``, ``events`` or ``off``). Raises
    :class:`ConfigError` for a missing inbox, :class:`~schemas.errors.SpoolbridgeError` when another
    producer holds the inbox or one inside or around it, and
    :class:`~schemas.errors.ServiceUnavailableError` when Kafka cannot be reached at start.
    """
    inbox = settings.producer.inbox.absolute()
    if not inbox.is_dir():
        raise ConfigError("producer.inbox", f"not a folder: {inbox} (create it, or pass --inbox)")
    settings.kafka.check_files()  # a missing ca.pem/service.cert is a setting error, not a Kafka one
    excluded = (settings.producer.done_path.absolute(), settings.producer.failed_path.absolute())
    stop = stop or threading.Event()
    heartbeat = heartbeat or Heartbeat()
    with InboxLock(inbox), ProducerRegistry(inbox), on_stop_signals(_finish_on(stop)):
        publisher = Publisher(settings.kafka, settings.producer, heartbeat)
        publisher.start()
        ledger = FileLedger(inbox, excluded[0], excluded[1])
        datasets = Datasets(settings)
        processor = FileProcessor(inbox, datasets, publisher, ledger, stop)
        remover = FileRemover(inbox, datasets, publisher)
        work = _Work(processor, publisher, producer_metrics(), heartbeat, remover)
        try:
            if once:
                return _run_once(work, excluded, settings.producer.settle_ms, stop, progress)
            watcher = InboxWatcher(inbox, excluded, queue.Queue(), settings.producer.rescan_interval_secs)
            work.display = file_progress(progress)
            _run_forever(work, watcher, settings.producer.settle_ms, stop)
            return 0
        finally:
            heartbeat.stop()
            work.display.close()
            processor.close()
            publisher.close()


@dataclass
class _Work:
    """Processing one file with everything around it: metrics, the heartbeat, the progress display."""

    processor: FileProcessor
    publisher: Publisher
    metrics: ProducerMetrics
    heartbeat: Heartbeat
    remover: FileRemover
    display: FileProgress = field(default_factory=NoProgress)
    disk_backoff: DiskBackoff = field(default_factory=lambda: DiskBackoff(1.0, DISK_FULL_MAX_DELAY_SECS))

    def process(self, path: Path) -> FileResult:
        source = relative_source(path, self.processor.inbox)
        meter = self.metrics.file(source)
        self.display.start(source, _display_size(path))
        records = 0

        def on_record(count: int) -> None:  # every 1,000 records, and at the end of the file
            nonlocal records
            records += count
            meter.records_read(count)
            self.heartbeat.beat()
            self.display.advance(records, self.publisher.current.sent_bytes)

        result = self.processor.process(path, on_record=on_record)
        if result.outcome in ("done", "failed"):
            self.disk_backoff.reset()
        meter.settled(result)
        self.display.finish(result.outcome)
        return result

    def waiting(self, tracker: ReadinessTracker) -> None:
        """The loop came round, between files: beat, carry out the removals asked for
        (:mod:`producer.removal`), and count the files waiting in the inbox."""
        self.heartbeat.beat()
        self.remover.carry_out_pending()
        self.metrics.waiting(tracker.waiting, self.processor.inbox)


def _display_size(path: Path) -> int | None:
    """The file's size for the display's ETA (``None`` for ``.gz``: its records are bigger than it)."""
    if is_gzip_name(path):
        return None
    try:
        return path.lstat().st_size
    except OSError:
        return None


def _run_once(
    work: _Work, excluded: tuple[Path, ...], settle_ms: int, stop: threading.Event, progress: str
) -> int:
    inbox = work.processor.inbox
    tracker = ReadinessTracker(settle_ms, require_close=False)
    now = time.monotonic()
    for path in scan_inbox(inbox, inbox, excluded):
        tracker.completed(path, now)
    work.display = file_progress(progress, len(tracker))
    results: list[FileResult] = []
    while len(tracker) and not stop.is_set():
        work.waiting(tracker)
        for path in tracker.ready(time.monotonic()):
            result = work.process(path)
            if result.outcome == "changed":  # read again once it has settled
                tracker.completed(path, time.monotonic())
                continue
            if result.outcome == "no_space":  # a pause, not a failure: tried again until it fits
                tracker.completed(path, time.monotonic() + work.disk_backoff.next_delay())
                continue
            if result.newer_version_waiting:  # renamed onto the path after the read: the next version
                tracker.completed(path, time.monotonic())
            results.append(result)
        wait = tracker.next_check_in(time.monotonic())
        if wait:
            stop.wait(min(wait, 0.5))
    work.waiting(tracker)
    bad = [r for r in results if r.outcome in ("failed", "retry", "interrupted", "unreadable")]
    log.info(
        "event=once_finished files=%d done=%d failed=%d unreadable=%d records=%d",
        len(results),
        sum(r.outcome == "done" for r in results),
        len(bad),
        sum(r.outcome == "unreadable" for r in results),
        sum(r.records for r in results),
    )
    return 1 if bad else 0


def _run_forever(work: _Work, watcher: InboxWatcher, settle_ms: int, stop: threading.Event) -> None:
    tracker = ReadinessTracker(settle_ms, require_close=watcher.reports_close)
    watcher.start()  # before the scan, so a file arriving during the scan is not missed
    try:
        now = time.monotonic()
        for path in scan_inbox(watcher.inbox, watcher.inbox, watcher.excluded):
            tracker.completed(path, now)
        while not stop.is_set():
            work.waiting(tracker)
            wait = tracker.next_check_in(time.monotonic())
            timeout = 0.5 if wait is None else min(max(wait, 0.01), 0.5)
            for folder in _drain(watcher.events, tracker, work.processor.unreadable, timeout):
                work.processor.prepare_dataset(folder)
            for path in tracker.ready(time.monotonic()):
                if stop.is_set():
                    break
                result = work.process(path)
                if result.outcome == "retry":
                    tracker.completed(path, time.monotonic() + RETRY_DELAY_SECS)
                elif result.outcome == "no_space":  # other ready files are still read meanwhile
                    tracker.completed(path, time.monotonic() + work.disk_backoff.next_delay())
                elif result.outcome == "changed" or result.newer_version_waiting:
                    # changed while read, or a new version renamed onto the path after the read (its
                    # events may have been coalesced with the old one's): read again once it has settled
                    tracker.completed(path, time.monotonic())
    finally:
        watcher.stop()
    log.info("event=stopped inbox=%s", watcher.inbox)


def _drain(
    events: queue.Queue[FileEvent], tracker: ReadinessTracker, unreadable: dict[Path, str], timeout: float
) -> list[Path]:
    """Feed every queued event to the tracker (waiting up to ``timeout`` for the first); returns the
    dataset folders that appeared.

    A file that could not be read is retried when any event shows up for it (a ``chmod`` is only an
    attribute change), and on every rescan (it is in the inbox but not in the tracker).
    """
    new_datasets: list[Path] = []
    try:
        event = events.get(timeout=timeout)
    except queue.Empty:
        return new_datasets
    while True:
        now, kind, path = time.monotonic(), event.kind, event.path
        if kind == "completed" or (path in unreadable and kind in ("written", "attrib")):
            tracker.completed(path, now)
        elif kind == "written":
            tracker.written(path, now)
        elif kind == "deleted":
            tracker.forget(path)
            unreadable.pop(path, None)
        elif kind in ("found", "found_after_overflow"):
            tracker.found(path, now, after_overflow=kind == "found_after_overflow")
        elif kind == "dataset":
            new_datasets.append(path)
        try:
            event = events.get_nowait()
        except queue.Empty:
            return new_datasets


def _finish_on(stop: threading.Event) -> Callable[[signal.Signals], None]:
    def finish(sig: signal.Signals) -> None:
        log.info("event=signal signal=%s action=finishing", sig.name)
        stop.set()

    return finish
