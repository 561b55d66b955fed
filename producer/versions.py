"""A re-dropped file is a new version that replaces the old one.

Every time a file is settled (``done/`` or ``failed/``), its **version** is recorded in the inbox's state
folder (``<inbox>/.spoolbridge/versions/``, hidden, so never read as input): ``<path>.json`` holds the
history (number, sha256, documents, outcome, when, how many documents of the previous version it deleted)
and ``<path>.ids`` the ids of the documents the latest version left in the index, one per line.

When the same relative path arrives again, the ids of the previous version that the new version did not
produce are **stale**: the producer sends a tombstone for each (the consumer deletes the document), after
every record of the new version was acknowledged and before the file is settled. Which ids are stale is
decided in bounded memory: the new version's ids are kept as a sorted array of 64-bit hashes (8 bytes per
record; Python's string hash, consistent within the process), and the previous ids are streamed from
their file. Two different ids with the same 64-bit hash would keep a stale document (about one chance in
10^7 for a million ids), never delete a live one.

A version that could not be read to the end (a truncated or invalid file) deletes nothing: it overwrites
what it has, and the ids it did not reach stay listed as live, so the next complete version still
replaces them. With ``id_field``, ids are shared across files on purpose; a record that a later version
of *its* file no longer has is deleted even if another file also holds that id (documented in the README).

Crash safety: the tombstones are acknowledged before the version is recorded, and the version is recorded
before the file moves; a crash in between leaves the file in the inbox, and processing it again sends the
same records and the same tombstones (both idempotent).
"""

from __future__ import annotations

import bisect
import logging
import os
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from producer.publisher import Publisher
from schemas.message import Headers

__all__ = ["STATE_DIR_NAME", "IdSet", "Replacement", "Version", "VersionHistory", "replace_previous"]

log = logging.getLogger(__name__)

#: The producer's own folder inside the inbox (hidden: the watcher never reads it as input).
STATE_DIR_NAME = ".spoolbridge"
_FLUSH_EVERY = 4096


@dataclass(frozen=True, slots=True)
class Version:
    """One settled version of a file."""

    number: int
    sha256: str
    records: int  # documents this version produced (acknowledged by Kafka)
    outcome: str  # done | failed
    finished_at: str
    replaced_records: int = 0  # documents the previous version had produced
    deleted: int = 0  # documents of the previous version this one deleted (tombstones)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class IdSet:
    """The ids one version of a file produced: written to a temporary file as they are sent, and kept as
    64-bit hashes for the comparison with the previous version. The hot path appends to :attr:`pending`
    (a plain list) and calls :meth:`flush` now and then."""

    def __init__(self, temp_path: Path) -> None:
        self.temp_path = temp_path
        self.pending: list[str] = []
        self._hashes: array[int] = array("q")
        self._removed: set[str] = set()
        self._out: IO[bytes] | None = None
        self._sorted = False

    def flush(self) -> None:
        pending = self.pending
        if not pending:
            return
        if self._out is None:
            self.temp_path.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(self.temp_path, "wb")  # noqa: SIM115 - closed by commit/discard
        self._out.write(("\n".join(pending) + "\n").encode("utf-8", "surrogatepass"))
        self._hashes.extend(map(hash, pending))
        pending.clear()
        self._sorted = False

    def remove(self, keys: list[str]) -> None:
        """Ids that were sent but not produced after all (Kafka refused the record)."""
        self._removed.update(keys)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or key in self._removed:
            return False
        self.flush()
        if not self._sorted:
            self._hashes = array("q", sorted(self._hashes))
            self._sorted = True
        h = hash(key)
        i = bisect.bisect_left(self._hashes, h)
        return i < len(self._hashes) and self._hashes[i] == h

    def stale(self, previous: Path) -> Iterator[str]:
        """The ids listed in ``previous`` (the last version's ids file) that this version did not produce."""
        try:
            handle = open(previous, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                key = line.rstrip(b"\n").decode("utf-8", "surrogatepass")
                if key and key not in self:
                    yield key

    def commit(self, final_path: Path, keep: list[str]) -> None:
        """Store this version's ids (plus ``keep``: stale ids left live) as the file's latest ids."""
        self.flush()
        if self._out is not None:
            self._out.close()
            self._out = None
        final_path.parent.mkdir(parents=True, exist_ok=True)
        temp = final_path.with_name(f".{final_path.name}.part")
        with open(temp, "wb") as out:
            if self.temp_path.exists():
                with open(self.temp_path, "rb") as sent:
                    for line in sent:
                        if not self._removed or line.rstrip(b"\n").decode("utf-8", "surrogatepass") not in (
                            self._removed
                        ):
                            out.write(line)
            for key in keep:
                out.write(key.encode("utf-8", "surrogatepass") + b"\n")
        os.replace(temp, final_path)
        self.temp_path.unlink(missing_ok=True)

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        self.temp_path.unlink(missing_ok=True)


class VersionHistory:
    """The versions of every file of one inbox (see the module docstring)."""

    def __init__(self, inbox: Path) -> None:
        self.folder = inbox / STATE_DIR_NAME / "versions"

    def _paths(self, source: str) -> tuple[Path, Path]:
        base = self.folder / source
        return base.with_name(f"{base.name}.json"), base.with_name(f"{base.name}.ids")

    def versions(self, source: str) -> list[Version]:
        history, _ = self._paths(source)
        try:
            data = orjson.loads(history.read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning(
                "file=%s event=version_history_unreadable error=%s action=starting_afresh", source, exc
            )
            return []
        return [Version(**entry) for entry in data.get("versions", [])]

    def ids_file(self, source: str) -> Path:
        return self._paths(source)[1]

    def new_ids(self, source: str) -> IdSet:
        _, ids = self._paths(source)
        return IdSet(ids.with_name(f".{ids.name}.sending"))

    def record(self, source: str, version: Version, ids: IdSet, keep: list[str]) -> list[Version]:
        """Store ``version`` (and its ids) as the latest of ``source``; returns the whole history."""
        history, ids_path = self._paths(source)
        ids.commit(ids_path, keep)
        versions = [*self.versions(source), version]
        history.parent.mkdir(parents=True, exist_ok=True)
        temp = history.with_name(f".{history.name}.part")
        temp.write_bytes(
            orjson.dumps(
                {"source": source, "versions": [v.as_dict() for v in versions]}, option=orjson.OPT_INDENT_2
            )
        )
        os.replace(temp, history)
        return versions


class Replacement(NamedTuple):
    """What replacing the previous version did."""

    counts: tuple[int, int]  # (documents of the previous version, how many of them were deleted)
    keep: list[str]  # stale ids left live (an incomplete version deletes nothing)
    failures: int  # tombstones Kafka did not acknowledge


def replace_previous(
    history: VersionHistory,
    publisher: Publisher,
    source: str,
    *,
    topic: str,
    headers: Headers,
    ids: IdSet,
    complete: bool,
) -> Replacement:
    """Send a tombstone for every id of ``source``'s previous version that ``ids`` (the new version) lacks,
    and wait until Kafka acknowledged them; ``complete=False`` (the file could not be read to its end)
    deletes nothing and returns those ids to keep."""
    previous = history.versions(source)
    if not previous:
        return Replacement((0, 0), [], 0)
    stale = ids.stale(history.ids_file(source))
    if not complete:
        return Replacement((previous[-1].records, 0), list(stale), 0)
    deliveries = publisher.begin_file()
    for count, key in enumerate(stale, 1):
        publisher.send(topic, key, None, headers)
        if count % 1000 == 0:
            publisher.poll()
    publisher.finish()
    if deliveries.acked:
        log.info(
            "file=%s event=replaced previous_version=%d previous_records=%d deleted=%d",
            source, previous[-1].number, previous[-1].records, deliveries.acked,
        )  # fmt: skip
    return Replacement((previous[-1].records, deliveries.acked), [], len(deliveries.failures))
