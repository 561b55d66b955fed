"""The one place for "which files are input" and "when is a file ready to read".

**Name filter** (:func:`is_input_name`, :func:`is_input_path`): names ending in ``.json``, ``.jsonl`` or
``.ndjson``, each optionally ``.gz``; never hidden or temporary names (``.*``, ``*.tmp``, ``*.part``,
``*~``), never anything inside a hidden folder or inside the ``done/`` and ``failed/`` folders.

**Readiness** (:class:`ReadinessTracker`): a file is ready when it has been *completed* — closed after
writing, moved in, or found by the start-up scan (or, where the platform reports no close events, merely
seen) — and its size and mtime have not changed for ``settle_ms``. A later open or write makes it
incomplete again until the next close; any event restarts the clock. A file that disappears while
settling is forgotten. A file seen by a rescan (:meth:`ReadinessTracker.found`) is added only when the
tracker does not know it yet, so a rescan never restarts or duplicates work; after an overflow (close events
may have been lost) it also completes a file that was waiting for its close. Links, FIFOs and other
non-regular entries become ready like files (the processor refuses them with a reason); folders are
dropped. The tracker is pure: the caller feeds it events and the current time, so its rules are tested
with a fake clock.
"""

from __future__ import annotations

import logging
import os
import stat as stat_mode
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["INPUT_SUFFIXES", "ReadinessTracker", "is_input_name", "is_input_path", "relative_source"]

log = logging.getLogger("producer.readiness")  # the name it had before the move: logs are filtered by it

INPUT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv")
_TEMP_SUFFIXES = (".tmp", ".part", "~")


def is_input_name(name: str) -> bool:
    """True for a file name spoolbridge reads (by extension), false for hidden/temporary names."""
    if name.startswith(".") or name.endswith(_TEMP_SUFFIXES):
        return False
    return name.removesuffix(".gz").endswith(INPUT_SUFFIXES)


def is_input_path(path: Path, inbox: Path, excluded: Iterable[Path] = ()) -> bool:
    """True if ``path`` (inside ``inbox``) is an input file by name and location; does not touch the disk."""
    try:
        relative = path.relative_to(inbox)
    except ValueError:
        return False
    for folder in excluded:
        if path == folder or folder in path.parents:
            return False
    if any(part.startswith(".") for part in relative.parts[:-1]):
        return False
    return is_input_name(path.name)


def relative_source(path: Path, inbox: Path) -> str:
    """The file's path relative to the inbox, ``/``-separated: the ``source`` of its records."""
    return path.relative_to(inbox).as_posix()


Stat = Callable[[Path], "tuple[int, int] | None"]


def stat_size_mtime(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of the entry (of a link's target, or of the link itself when it dangles), or
    ``None`` if it is gone or a folder. Never opens anything (a FIFO would block)."""
    try:
        st = os.stat(path)
    except OSError:
        try:
            st = os.lstat(path)
        except OSError:
            return None
    if stat_mode.S_ISDIR(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns


@dataclass(slots=True)
class _Pending:
    completed: bool
    signature: tuple[int, int] | None
    stable_since: float
    found: bool = False  # added by a rescan: it may have been processed meanwhile, so vanishing is normal


class ReadinessTracker:
    """Tracks candidate files until they are ready (see the module docstring).

    ``require_close``: only files that were closed after writing, moved in or found at start-up become
    ready (Linux/inotify). Without close events, a file becomes ready on size+mtime stability alone.
    """

    def __init__(self, settle_ms: int, *, require_close: bool = True, stat: Stat = stat_size_mtime) -> None:
        self.settle_secs = settle_ms / 1000
        self.require_close = require_close
        self._stat = stat
        self._pending: dict[Path, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: object) -> bool:
        return path in self._pending

    def waiting(self) -> list[Path]:
        """The files tracked now (not yet ready, or ready and not yet taken)."""
        return list(self._pending)

    def written(self, path: Path, now: float) -> None:
        """The file was opened or modified: (re)start its clock; it is not complete until closed again."""
        self._pending[path] = _Pending(not self.require_close, None, now)

    def completed(self, path: Path, now: float) -> None:
        """The file was closed after writing, moved in, or found at start-up: its clock (re)starts."""
        self._pending[path] = _Pending(True, None, now)

    def found(self, path: Path, now: float, *, after_overflow: bool = False) -> None:
        """A rescan saw the file: track it if unknown (its clock starts); a known file keeps its state,
        except that after an overflow a file waiting for its close is completed (the close may be lost)."""
        entry = self._pending.get(path)
        if entry is None:
            self._pending[path] = _Pending(True, None, now, found=True)
        elif after_overflow:
            entry.completed = True

    def forget(self, path: Path) -> None:
        self._pending.pop(path, None)

    def ready(self, now: float) -> list[Path]:
        """Files that are ready now, oldest first; they are removed from the tracker.

        Files that vanished (or turned out to be folders) are dropped with a log line.
        """
        due: list[Path] = []
        for path, entry in list(self._pending.items()):
            signature = self._stat(path)
            if signature is None:
                if not entry.found:
                    log.info("file=%s event=gone_before_ready action=ignored", path)
                del self._pending[path]
                continue
            if signature != entry.signature:
                entry.signature = signature
                # never earlier than a retry's clock (``completed(path, now + delay)``)
                entry.stable_since = max(now, entry.stable_since)
                continue
            if entry.completed and now - entry.stable_since >= self.settle_secs:
                due.append(path)
                del self._pending[path]
        return due

    def next_check_in(self, now: float) -> float | None:
        """Seconds until the next file could become ready (``None`` when nothing is pending)."""
        if not self._pending:
            return None
        waits = [max(0.0, e.stable_since + self.settle_secs - now) for e in self._pending.values()]
        return min(waits)
