"""``<inbox>/.spoolbridge/reading.json``: the file the producer is reading now, and how far it got.

Written when a file starts, at most once a second while it is read (records so far), and removed when it
is settled, so ``spoolbridge status`` (and the web page) can show a file in progress, not just finished
ones. The note carries the producer's pid: a note left behind by a killed producer is ignored.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from producer.inbox.versions import STATE_DIR_NAME

__all__ = ["ReadingNote", "read_note"]

_EVERY_SECS = 1.0


def _note_path(inbox: Path) -> Path:
    return inbox / STATE_DIR_NAME / "reading.json"


class ReadingNote:
    def __init__(self, inbox: Path) -> None:
        self.path = _note_path(inbox)
        self._data: dict[str, Any] = {}
        self._written_at = 0.0

    def start(self, source: str, dataset: str | None, size: int) -> None:
        now = datetime.now(UTC).isoformat()
        self._data = {"source": source, "dataset": dataset, "bytes": size, "records": 0, "started_at": now}
        self._write()

    def update(self, records: int) -> None:
        """Records read so far; written at most once a second."""
        self._data["records"] = records
        if time.monotonic() - self._written_at >= _EVERY_SECS:
            self._write()

    def clear(self) -> None:
        self._data = {}
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        self._written_at = time.monotonic()
        data = {**self._data, "updated_at": datetime.now(UTC).isoformat(), "pid": os.getpid()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.part")
            temp.write_bytes(orjson.dumps(data))
            os.replace(temp, self.path)
        except OSError:  # a note for people: never a reason to stop producing
            pass


def read_note(inbox: Path) -> dict[str, Any] | None:
    """The note of a producer that is alive, or None."""
    try:
        data = orjson.loads(_note_path(inbox).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
