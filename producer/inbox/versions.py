"""A re-dropped file is a new version that replaces the old one.

Every time a file is settled (``done/`` or ``failed/``), its **version** is recorded in the inbox's state
folder (``<inbox>/.spoolbridge/versions/``, hidden, so never read as input): ``<path>.json`` holds the
history (number, sha256, documents, outcome, when, how many documents of the previous version it deleted)
and ``<path>.ids`` the ids of the documents the latest version left in the index, one per line. Both are
created with the source file's permissions or tighter (:func:`producer.inbox.boundary.report_mode`).

**Write-ahead ids.** Every read of a file appends the ids it sends to ``.<path>.ids.pending`` *before*
their records are handed to Kafka, one chunk at a time. A read that does not complete (the file changed
or was replaced while it was read, the producer was stopped or killed, Kafka did not confirm) leaves its
ids there: its records may be in the index. The next complete version deletes every id of the previous
version *and* of the pending file that it did not produce, then its own ids become the ``.ids`` file and
the pending file is removed. The ids are written with ``write()`` before the records are handed to
Kafka: in the page cache, they survive ``kill -9`` of the producer (not a power cut; an ``fsync`` per
file or chunk would cost more than the ledger may).

When the same relative path arrives again, the ids of the previous version that the new version did not
produce are **stale**: the producer sends a tombstone for each (the consumer deletes the document), after
every record of the new version was acknowledged and before the file is settled. Which ids are stale is
decided in bounded memory: the new version's ids are kept as a sorted array of 64-bit hashes (8 bytes per
record; Python's string hash, consistent within the process), and the previous ids are streamed from
their file. Two different ids with the same 64-bit hash would keep a stale document (about one chance in
10^7 for a million ids), never delete a live one. The same array counts the records **superseded within
the file** (an id repeated by a later record of the same file: the last one wins).

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
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from producer.publish.publisher import Publisher
from schemas.message import Headers

__all__ = ["STATE_DIR_NAME", "IdSet", "Replacement", "Version", "VersionHistory", "replace_previous"]

log = logging.getLogger("producer.versions")  # the name it had before the move: logs are filtered by it

#: The producer's own folder inside the inbox (hidden: the watcher never reads it as input).
STATE_DIR_NAME = ".spoolbridge"


@dataclass(frozen=True, slots=True)
class Version:
    """One settled version of a file."""

    number: int
    sha256: str
    records: int  # documents this version produced (acknowledged by Kafka)
    outcome: str  # done | failed | removed (every document of the file deleted on request)
    finished_at: str
    replaced_records: int = 0  # documents the previous version had produced
    deleted: int = 0  # documents of the previous version this one deleted (tombstones; removed: all)
    superseded_in_file: int = 0  # records overwritten by a later record of this version (same id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class IdSet:
    """The ids one read of a file sends, written ahead: each chunk of ids is appended to the file's
    pending-ids file *before* its records are handed to Kafka (see the module docstring), and kept as
    64-bit hashes for the comparison with the previous version.

    The pending file may already hold the ids of earlier reads that did not complete (changed, stopped,
    killed, not acknowledged): those are ids the index may hold, so the next complete version treats them
    like the previous version's (:meth:`stale`). Created with ``mode`` (never wider than the source)."""

    def __init__(self, pending_path: Path, mode: int = 0o600) -> None:
        self.pending_path = pending_path
        self.mode = mode
        self._hashes: array[int] = array("q")
        self._removed: set[str] = set()
        self._fd: int | None = None
        self._sorted = False
        #: bytes of the pending file written by earlier, incomplete reads (this read appends after them)
        self.earlier_bytes = _size(pending_path)

    def write_ahead(self, keys: list[str]) -> None:
        """Append ``keys`` to the pending file; the caller sends their records only after this returns."""
        if not keys:
            return
        data = ("\n".join(keys) + "\n").encode("utf-8", "surrogatepass")
        if self._fd is None:
            self._fd = _open_append(self.pending_path, self.mode)
            if self.earlier_bytes and _last_byte(self._fd) != b"\n":
                data = b"\n" + data  # a read killed mid-write left half a line: never glue ids together
        os.write(self._fd, data)
        self._hashes.extend(map(hash, keys))
        self._sorted = False

    def remove(self, keys: list[str]) -> None:
        """Ids that were sent but not produced after all (Kafka refused the record)."""
        self._removed.update(keys)

    def _sorted_hashes(self) -> array[int]:
        if not self._sorted:
            self._hashes = array("q", sorted(self._hashes))
            self._sorted = True
        return self._hashes

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or key in self._removed:
            return False
        hashes = self._sorted_hashes()
        h = hash(key)
        i = bisect.bisect_left(hashes, h)
        return i < len(hashes) and hashes[i] == h

    def superseded(self) -> int:
        """Ids sent more than once by this read: records overwritten by a later record of the same file
        with the same id (the last one wins)."""
        hashes = self._sorted_hashes()
        return sum(1 for i in range(1, len(hashes)) if hashes[i] == hashes[i - 1])

    def stale(self, previous: Path) -> Iterator[str]:
        """The ids listed in ``previous`` (the last version's ids file) or sent by earlier incomplete reads
        that this read did not produce, each once."""
        yielded: set[int] = set()
        for key in _chain_ids(previous, self.pending_path, self.earlier_bytes):
            if key not in self and (h := hash(key)) not in yielded:
                yielded.add(h)
                yield key

    @property
    def has_earlier(self) -> bool:
        """True when earlier reads that did not complete left ids that may be in the index."""
        return self.earlier_bytes > 0

    def commit(self, final_path: Path, keep: list[str]) -> None:
        """Store this read's ids (plus ``keep``: stale ids left live) as the file's latest ids, then drop
        the pending file (every id in it is now either live or deleted)."""
        self.close()
        if not (self.earlier_bytes or self._removed or keep) and self.pending_path.exists():
            os.replace(self.pending_path, final_path)  # the pending ids are exactly this read's: as they are
            return
        final_path.parent.mkdir(parents=True, exist_ok=True)
        temp = final_path.with_name(f".{final_path.name}.part")
        removed = self._removed
        with _create(temp, self.mode) as out:
            for key in _read_ids(self.pending_path, start=self.earlier_bytes):
                if key not in removed:
                    out.write(key.encode("utf-8", "surrogatepass") + b"\n")
            for key in keep:
                out.write(key.encode("utf-8", "surrogatepass") + b"\n")
        os.replace(temp, final_path)
        self.pending_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop writing; the pending ids stay on disk for the next version of the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _size(path: Path) -> int:
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except FileNotFoundError:
        return 0


def _last_byte(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, 1, size - 1) if size else b""


def _open_append(path: Path, mode: int) -> int:
    """The pending file opened for appending (created with ``mode``; a link there is never followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC  # read: its last byte
    try:
        return os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return os.open(path, flags)


def _create(path: Path, mode: int) -> IO[bytes]:
    """A new file at ``path`` with ``mode`` (the umask may only narrow it); whatever was there is removed
    first, so an old file's wider permissions or a planted link are never reused."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    return os.fdopen(fd, "wb")


def _read_ids(path: Path, *, start: int = 0, end: int | None = None) -> Iterator[str]:
    """The ids listed in ``path`` (one per line) from byte ``start`` up to ``end``."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with handle:
        handle.seek(start)
        remaining = end - start if end is not None else -1
        for whole in handle:
            line = whole
            if remaining >= 0:
                if remaining == 0:
                    return
                line = whole[:remaining]
                remaining -= len(line)
            key = line.rstrip(b"\n").decode("utf-8", "surrogatepass")
            if key:
                yield key


def _chain_ids(previous: Path, pending: Path, earlier_bytes: int) -> Iterator[str]:
    """The ids of ``previous``, then of ``pending`` up to ``earlier_bytes`` (-1: the whole file)."""
    yield from _read_ids(previous)
    if earlier_bytes:
        yield from _read_ids(pending, end=None if earlier_bytes < 0 else earlier_bytes)


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

    def pending_file(self, source: str) -> Path:
        ids = self._paths(source)[1]
        return ids.with_name(f".{ids.name}.pending")

    def has_file(self, source: str) -> bool:
        """Whether ``source`` was ever read: a history, or ids (an interrupted read's included)."""
        return self._paths(source)[0].is_file() or self.has_ids(source)

    def has_ids(self, source: str) -> bool:
        """Whether ids of ``source`` may still be in the index (its ids file or pending ids hold some)."""
        return _size(self.ids_file(source)) > 0 or _size(self.pending_file(source)) > 0

    def live_ids(self, source: str) -> Iterator[str]:
        """Every id of ``source`` the index may hold: its latest version's and those interrupted reads
        wrote ahead, each once (by 64-bit hash, as :meth:`IdSet.stale`)."""
        yielded: set[int] = set()
        for key in _chain_ids(self.ids_file(source), self.pending_file(source), -1):
            if (h := hash(key)) not in yielded:
                yielded.add(h)
                yield key

    def record_removal(self, source: str, deleted: int, mode: int = 0o600) -> list[Version]:
        """Record that every document of ``source`` was deleted (``deleted`` tombstones acknowledged),
        then drop its ids. A crash in between leaves the ids, so the request is carried out again with
        the same tombstones; a ``removed`` entry that is already the latest is replaced, not repeated."""
        versions = self.versions(source)
        if versions and versions[-1].outcome == "removed":
            latest = versions.pop()
            number, before = latest.number, latest.replaced_records
        else:
            number = versions[-1].number + 1 if versions else 1
            before = versions[-1].records if versions else 0
        removed = Version(
            number=number,
            sha256="",  # no version of the file is live: every letter of it is superseded
            records=0,
            outcome="removed",
            finished_at=datetime.now(UTC).isoformat(),
            replaced_records=before,
            deleted=deleted,
        )
        versions.append(removed)
        self._write(source, versions, mode)
        self.ids_file(source).unlink(missing_ok=True)
        self.pending_file(source).unlink(missing_ok=True)
        return versions

    def new_ids(self, source: str, mode: int = 0o600) -> IdSet:
        """The ids of a new read of ``source``, written ahead to its pending file (created with ``mode``)."""
        _, ids = self._paths(source)
        return IdSet(ids.with_name(f".{ids.name}.pending"), mode)

    def record(
        self, source: str, version: Version, ids: IdSet, keep: list[str], mode: int = 0o600
    ) -> list[Version]:
        """Store ``version`` (and its ids) as the latest of ``source``, both files created with ``mode``;
        returns the whole history."""
        ids.commit(self._paths(source)[1], keep)
        versions = [*self.versions(source), version]
        self._write(source, versions, mode)
        return versions

    def _write(self, source: str, versions: list[Version], mode: int) -> None:
        history, _ = self._paths(source)
        history.parent.mkdir(parents=True, exist_ok=True)
        temp = history.with_name(f".{history.name}.part")
        with _create(temp, mode) as out:
            out.write(
                orjson.dumps(
                    {"source": source, "versions": [v.as_dict() for v in versions]},
                    option=orjson.OPT_INDENT_2,
                )
            )
        os.replace(temp, history)


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
    or that an earlier incomplete read of ``source`` sent, and wait until Kafka acknowledged them;
    ``complete=False`` (the file could not be read to its end)
    deletes nothing and returns those ids to keep."""
    previous = history.versions(source)
    if not previous and not ids.has_earlier:
        return Replacement((0, 0), [], 0)
    before = previous[-1].records if previous else 0
    stale = ids.stale(history.ids_file(source))
    if not complete:
        return Replacement((before, 0), list(stale), 0)
    deliveries = publisher.begin_file()
    for count, key in enumerate(stale, 1):
        publisher.send(topic, key, None, headers)
        if count % 1000 == 0:
            publisher.poll()
    publisher.finish()
    if deliveries.acked:
        log.info(
            "file=%s event=replaced previous_version=%d previous_records=%d deleted=%d",
            source, previous[-1].number if previous else 0, before, deliveries.acked,
        )  # fmt: skip
    return Replacement((before, deliveries.acked), [], len(deliveries.failures))
