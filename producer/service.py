"""The producer service: ``spoolbridge produce --inbox DIR [--once]``.

``run`` takes the inbox lock (one producer per inbox), creates the topics, then processes every ready
file — those already in the inbox at start-up and, unless ``once``, every file that arrives later — one
at a time, until SIGTERM/SIGINT. A file interrupted by a signal stays in the inbox and is processed again
on the next start. Besides events, the watcher rescans the inbox after lost events and every
``producer.rescan_interval_secs``, so no file is left behind while the producer runs. Exit code: 0; with
``once``, 1 if any file failed, could not be read, or could not be confirmed by Kafka.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import FrameType

from producer.ledger import FileLedger
from producer.pipeline import FileProcessor, FileResult
from producer.publisher import Publisher
from producer.readiness import ReadinessTracker
from producer.watcher import FileEvent, InboxLock, InboxWatcher, scan_inbox
from schemas.datasets import Datasets
from schemas.errors import ConfigError
from schemas.settings import Settings

__all__ = ["RETRY_DELAY_SECS", "run"]

log = logging.getLogger(__name__)

#: A file Kafka could not confirm is tried again after this long (it stays in the inbox meanwhile).
RETRY_DELAY_SECS = 5.0


def run(settings: Settings, *, once: bool, stop: threading.Event | None = None) -> int:
    """Run the producer (see the module docstring) until ``stop`` is set or SIGTERM/SIGINT arrives.

    Raises :class:`ConfigError` for a missing inbox, :class:`~schemas.errors.SpoolbridgeError` when another
    producer holds the inbox, and :class:`~schemas.errors.ServiceUnavailableError` when Kafka cannot be
    reached at start.
    """
    inbox = settings.producer.inbox.absolute()
    if not inbox.is_dir():
        raise ConfigError("producer.inbox", f"not a folder: {inbox} (create it, or pass --inbox)")
    settings.kafka.check_files()  # a missing ca.pem/service.cert is a setting error, not a Kafka one
    excluded = (settings.producer.done_path.absolute(), settings.producer.failed_path.absolute())
    stop = stop or threading.Event()
    with InboxLock(inbox), _stop_on_signals(stop):
        publisher = Publisher(settings.kafka, settings.producer)
        publisher.start()
        ledger = FileLedger(inbox, excluded[0], excluded[1])
        processor = FileProcessor(inbox, Datasets(settings), publisher, ledger, stop)
        try:
            if once:
                return _run_once(processor, inbox, excluded, settings.producer.settle_ms, stop)
            watcher = InboxWatcher(inbox, excluded, queue.Queue(), settings.producer.rescan_interval_secs)
            _run_forever(processor, watcher, settings.producer.settle_ms, stop)
            return 0
        finally:
            processor.close()
            publisher.close()


def _run_once(
    processor: FileProcessor, inbox: Path, excluded: tuple[Path, ...], settle_ms: int, stop: threading.Event
) -> int:
    tracker = ReadinessTracker(settle_ms, require_close=False)
    now = time.monotonic()
    for path in scan_inbox(inbox, inbox, excluded):
        tracker.completed(path, now)
    total = len(tracker)
    results: list[FileResult] = []
    with _progress(total) as advance:
        while len(tracker) and not stop.is_set():
            for path in tracker.ready(time.monotonic()):
                result = processor.process(path, on_record=lambda n: advance(0, n))
                if result.outcome == "changed":  # read again once it has settled
                    tracker.completed(path, time.monotonic())
                    continue
                results.append(result)
                advance(1, 0)
            wait = tracker.next_check_in(time.monotonic())
            if wait:
                stop.wait(min(wait, 0.5))
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


def _run_forever(
    processor: FileProcessor, watcher: InboxWatcher, settle_ms: int, stop: threading.Event
) -> None:
    tracker = ReadinessTracker(settle_ms, require_close=watcher.reports_close)
    watcher.start()  # before the scan, so a file arriving during the scan is not missed
    try:
        now = time.monotonic()
        for path in scan_inbox(watcher.inbox, watcher.inbox, watcher.excluded):
            tracker.completed(path, now)
        while not stop.is_set():
            wait = tracker.next_check_in(time.monotonic())
            timeout = 0.5 if wait is None else min(max(wait, 0.01), 0.5)
            _drain(watcher.events, tracker, processor.unreadable, timeout)
            for path in tracker.ready(time.monotonic()):
                if stop.is_set():
                    break
                result = processor.process(path)
                if result.outcome == "retry":
                    tracker.completed(path, time.monotonic() + RETRY_DELAY_SECS)
                elif result.outcome == "changed":  # read again once it has settled
                    tracker.completed(path, time.monotonic())
    finally:
        watcher.stop()
    log.info("event=stopped inbox=%s", watcher.inbox)


def _drain(
    events: queue.Queue[FileEvent], tracker: ReadinessTracker, unreadable: dict[Path, str], timeout: float
) -> None:
    """Feed every queued event to the tracker (waiting up to ``timeout`` for the first).

    A file that could not be read is retried when any event shows up for it (a ``chmod`` is only an
    attribute change), and on every rescan (it is in the inbox but not in the tracker).
    """
    try:
        event = events.get(timeout=timeout)
    except queue.Empty:
        return
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
        try:
            event = events.get_nowait()
        except queue.Empty:
            return


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop`` (only possible from the main thread; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("event=signal signal=%s action=finishing", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


Advance = Callable[[int, int], None]


def _progress(total_files: int) -> AbstractContextManager[Advance]:
    """A rich progress display (files, records, records/s) on a terminal; nothing otherwise."""
    if not sys.stderr.isatty() or total_files == 0:
        return nullcontext(lambda files, records: None)
    return _rich_progress(total_files)


@contextmanager
def _rich_progress(total_files: int) -> Iterator[Advance]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.monotonic()
    records = 0
    with Progress(
        TextColumn("files"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[records]} records, {task.fields[rate]} records/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task("files", total=total_files, records=0, rate=0)

        def advance(files: int, new_records: int) -> None:
            nonlocal records
            records += new_records
            rate = int(records / max(time.monotonic() - started, 1e-6))
            progress.update(task, advance=files, records=records, rate=rate)

        yield advance
