"""What a person watching the producer sees: a live display per file (records, MB/s, ETA) on a terminal.

:func:`file_progress` picks the display: :class:`RichProgress` when stderr is a terminal, nothing
otherwise (the ``key=value`` log lines are the record then). ``spoolbridge run`` asks its producer for
:class:`EventProgress` instead: the same calls as JSON lines on stdout, which the supervisor renders with
a :class:`RichProgress` of its own (two processes must not draw on one terminal).

Bytes are those of the message values handed to Kafka, which is the records' own text (with the source
field) for the common case, so MB/s and the ETA against the file's size are estimates; a ``.gz`` file has
no ETA (its size says nothing about the records' bytes).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import IO, Any, Protocol

__all__ = ["EventProgress", "FileProgress", "NoProgress", "RichProgress", "file_progress"]


class FileProgress(Protocol):
    """The calls the service makes while it works through files."""

    def start(self, source: str, size: int | None) -> None:
        """A file is started; ``size`` in bytes (``None``: unknown, or compressed)."""

    def advance(self, records: int, sent_bytes: int) -> None:
        """Totals so far for the current file."""

    def finish(self, outcome: str) -> None:
        """The current file is settled (or left in the inbox) with ``outcome``."""

    def close(self) -> None:
        """No more files."""


class NoProgress:
    """Nothing to show (not a terminal): the log lines say it all."""

    def start(self, source: str, size: int | None) -> None:
        pass

    def advance(self, records: int, sent_bytes: int) -> None:
        pass

    def finish(self, outcome: str) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """A rich display: one line for the current file (bar, records, MB/s, ETA), one for all files.

    Thread-safe (the ``run`` supervisor feeds it from a reader thread while log lines print above it).
    """

    def __init__(self, total_files: int | None = None, *, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[records]:>10,} records"),
            TextColumn("{task.fields[rate]:>12}"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._files = self._progress.add_task("files", total=total_files, records=0, rate="")
        self._started = time.monotonic()
        self._done = 0
        self._outcomes: dict[str, int] = {}
        self._records = 0
        self._current: Any = None
        self._current_started = 0.0
        self._current_records = 0
        stderr = sys.stderr
        self._progress.start()  # on a terminal, sys.stderr now prints above the display
        self._rerouted = _reroute_log_handlers(stderr, sys.stderr)

    def start(self, source: str, size: int | None) -> None:
        with self._lock:
            self._drop_current()
            name = source if len(source) <= 40 else "…" + source[-39:]
            self._current = self._progress.add_task(name, total=size, records=0, rate="")
            self._current_started, self._current_records = time.monotonic(), 0

    def advance(self, records: int, sent_bytes: int) -> None:
        with self._lock:
            if self._current is None:
                return
            total = next(t.total for t in self._progress.tasks if t.id == self._current)
            # the bytes are the records' (an estimate of the file's): never show a file as complete early
            done = sent_bytes if total is None else min(sent_bytes, int(total * 0.99))
            rate = sent_bytes / 1e6 / max(time.monotonic() - self._current_started, 1e-3)
            self._progress.update(self._current, completed=done, records=records, rate=f"{rate:.1f} MB/s")
            self._current_records = records

    def finish(self, outcome: str) -> None:
        with self._lock:
            self._records += self._current_records
            self._outcomes[outcome] = self._outcomes.get(outcome, 0) + 1
            # a file changed while read, or paused by a full disk, is read again
            self._done += outcome not in ("changed", "no_space")
            self._drop_current()
            summary = ", ".join(f"{n} {name}" for name, n in sorted(self._outcomes.items()))
            per_s = self._records / max(time.monotonic() - self._started, 1e-3)
            self._progress.update(
                self._files, completed=self._done, records=self._records,
                description=f"files ({summary})", rate=f"{per_s:,.0f} rec/s",
            )  # fmt: skip

    def close(self) -> None:
        with self._lock:
            self._drop_current()
            for handler, stream in self._rerouted:
                handler.setStream(stream)
            self._progress.stop()

    def _drop_current(self) -> None:
        if self._current is not None:
            self._progress.remove_task(self._current)
            self._current = None


def _reroute_log_handlers(old: IO[str], new: IO[str]) -> list[tuple[logging.StreamHandler[IO[str]], IO[str]]]:
    """Point the root logger's handlers that write to ``old`` (stderr) at ``new`` (rich's proxy, which
    prints each line above the display): the handlers keep the stream they were made with, so without
    this their lines would be drawn into the display. Returns what to restore."""
    if new is old:
        return []
    rerouted = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is old:
            handler.setStream(new)
            rerouted.append((handler, old))
    return rerouted


class EventProgress:
    """The same calls as JSON lines on ``stream`` (stdout), for the ``run`` supervisor to draw."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout

    def _send(self, **event: Any) -> None:
        try:
            self._stream.write(json.dumps(event) + "\n")
            self._stream.flush()
        except (BrokenPipeError, ValueError):  # the supervisor is gone: nobody is watching
            pass

    def start(self, source: str, size: int | None) -> None:
        self._send(event="start", source=source, size=size)

    def advance(self, records: int, sent_bytes: int) -> None:
        self._send(event="advance", records=records, bytes=sent_bytes)

    def finish(self, outcome: str) -> None:
        self._send(event="finish", outcome=outcome)

    def close(self) -> None:
        pass


def replay_event(line: str, display: FileProgress) -> None:
    """Apply one :class:`EventProgress` line to ``display`` (lines that are not events are ignored)."""
    try:
        event = json.loads(line)
    except ValueError:
        return
    if not isinstance(event, dict):
        return
    kind = event.get("event")
    if kind == "start":
        display.start(str(event.get("source", "?")), event.get("size"))
    elif kind == "advance":
        display.advance(int(event.get("records", 0)), int(event.get("bytes", 0)))
    elif kind == "finish":
        display.finish(str(event.get("outcome", "?")))


def file_progress(mode: str, total_files: int | None = None) -> FileProgress:
    """``mode``: ``auto`` (rich on a terminal, unless there are no files to show), ``events`` (for ``run``),
    ``off``."""
    if mode == "events":
        return EventProgress()
    if mode == "auto" and sys.stderr.isatty() and total_files != 0:
        return RichProgress(total_files)
    return NoProgress()
