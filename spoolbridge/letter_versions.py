"""Which file version each source's dead letters are measured against: the sha256 of the latest settled
version in the producer's version history (:mod:`producer.versions`), for
:class:`schemas.letter_ledger.OutstandingLetters`.

Every reader of a dead-letter topic that can see the inbox (``status``, the page, ``dlq``, the producer's
outstanding gauge) asks the same history, so they agree. A source's history file is read again only when
its modification time or size changed, so asking for every figure costs a ``stat`` per source.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from producer.inbox.versions import VersionHistory

__all__ = ["LatestVersions"]


class LatestVersions:
    """``latest(source)``: the sha256 of ``source``'s latest settled version, ``None`` when it has none
    (never settled, or no history in this inbox). Thread-safe."""

    def __init__(self, inbox: Path) -> None:
        self._history = VersionHistory(inbox)
        self._known: dict[str, tuple[tuple[int, int], str | None]] = {}
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether this inbox has a version history at all (else no letter can be known superseded)."""
        return self._history.folder.is_dir()

    def __call__(self, source: str) -> str | None:
        path = self._history.folder / f"{source}.json"
        try:
            stat = os.stat(path)
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            known = self._known.get(source)
            if known is not None and known[0] == stamp:
                return known[1]
        versions = self._history.versions(source)
        sha256 = versions[-1].sha256 if versions else None
        with self._lock:
            self._known[source] = (stamp, sha256)
        return sha256
