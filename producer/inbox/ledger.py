"""Per-file ledger: where a file ends up, and the small reports that say why.

Success: the file moves to ``done/<relative path>`` and ``<name>.manifest.json`` is written beside it
(records, bytes, sha256, first/last id, timings). Failure: the file moves to ``failed/<relative path>``
with ``<name>.error.json`` (what happened, where, what to do) and, when records were rejected,
``<name>.rejected.jsonl`` (one line per rejected record: position, id, reason, record). A file whose own
name would pass for a report is never read and is kept as ``<name>.refused`` (:func:`stored_source`,
:mod:`producer.inbox.report_names`), so no file can take another file's report's place; a report is read back
only if it is a regular file beside the file it names (:func:`read_report`).

Reports are written *before* the file is moved (each atomically, through a hidden temporary name), so a
file in ``done/`` or ``failed/`` always has its report; a crash in between leaves the file in the inbox,
where it is processed again and the reports are replaced. A report that does not fit on the disk raises
:class:`~schemas.disk.DiskFullError` (its folder and the bytes it needs) with nothing half-written left
behind and the file still in the inbox, so the producer can retry it later. An older file of the same
name is replaced, and a file that succeeds clears the ``failed/`` copy and reports of an earlier attempt.

Reports are created with the permissions the caller gives (see
:func:`producer.inbox.boundary.report_mode`: never readable by more people than the source file),
whatever the umask, and never through an existing entry
(a link planted at a report's temporary name is replaced, not followed).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from producer.inbox.report_names import REPORT_SUFFIXES, stored_name
from producer.inbox.settle_move import move_read_file
from schemas.disk import DiskFullError, disk_full, is_disk_full
from schemas.offset_ranges import OffsetRange, report_offsets
from schemas.reject_reasons import reject_group

__all__ = [
    "FileFailure",
    "FileLedger",
    "FileReport",
    "Manifest",
    "RejectedWriter",
    "read_report",
    "stored_source",
]

log = logging.getLogger("producer.ledger")  # the name it had before the move: logs are filtered by it


@dataclass(slots=True)
class Manifest:
    """What was produced from one file (the ``.manifest.json`` content)."""

    source: str
    topic: str
    records: int
    bytes: int
    sha256: str
    first_id: str | None
    last_id: str | None
    started_at: str
    finished_at: str
    duration_secs: float
    records_per_s: float
    rejected: int = 0
    superseded_in_file: int = 0  # records whose id a later record of the same file repeats (last wins)
    dataset: str | None = None  # None: the default dataset (a file directly in the inbox)
    version: int = 1  # the how-manieth time this relative path was settled (see producer.inbox.versions)
    versions: list[dict[str, Any]] = field(default_factory=list)  # the history, oldest first
    # per partition of the topic, the first and last offset of this version's messages
    # (schemas.offset_ranges: what status names the files whose records expired from Kafka by)
    offsets: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what reading decided (a CSV header's renamed columns)


@dataclass(slots=True)
class FileFailure:
    """Why a file failed (the ``.error.json`` content)."""

    source: str
    what: str
    what_to_do: str
    where: dict[str, Any] | None = None
    records_produced: int = 0
    records_rejected: int = 0
    records_superseded_in_file: int = 0  # produced records whose id a later record of the file repeats
    sha256: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    offsets: dict[str, list[int]] = field(default_factory=dict)  # as the manifest's (a read's messages)
    rejected_causes: list[dict[str, Any]] = field(default_factory=list)  # RejectedWriter.cause_counts
    file_error: bool = False  # the file could not be read to its end (not only records rejected)
    notes: list[str] = field(default_factory=list)  # as the manifest's


@dataclass(frozen=True, slots=True)
class FileReport:
    """A settled file's report read back (``status`` and the page): its manifest, or its error report."""

    source: str
    state: Literal["done", "failed"]
    produced: int
    rejected: int
    bytes: int | None = None
    reason: str | None = None  # failed: what happened
    what_to_do: str | None = None
    has_rejected_file: bool = False
    superseded: int = 0  # produced records overwritten by a later record of the same file (same id)
    # per partition, the first and last offset of its messages; None: a report from before they were
    # recorded (schemas.offset_ranges)
    offsets: dict[int, OffsetRange] | None = None
    # failed: (first reason, count) per cause of its rejected records; None: a report from before they
    # were counted by cause
    rejected_causes: tuple[tuple[str, int], ...] | None = None
    file_error: bool | None = None  # failed: not read to its end; None: a report from before it was said

    @property
    def read(self) -> int:
        return self.produced + self.rejected


def stored_source(source: str) -> str:
    """Where the file ``source`` lies under ``done/`` or ``failed/`` (its reports beside it): the same
    relative path, except that a name that would pass for a report gets ``.refused`` appended
    (:func:`producer.inbox.report_names.stored_name`)."""
    folder, _, name = source.rpartition("/")
    return f"{folder}/{stored_name(name)}" if folder else stored_name(name)


def read_report(path: Path, source: str | None = None) -> FileReport | None:
    """The report at ``path``: a ``*.manifest.json`` (done) or a ``*.error.json`` (failed); ``None`` when
    it is missing or unreadable (being replaced, or not ours). A report is ours only when it is a regular
    file (not a link) and the ``source`` it names lies beside it (``<stored name>.<suffix>``), and, when
    ``source`` is given, names that source: a planted file cannot speak for another file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            data = orjson.loads(handle.read())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not _speaks_for(path.name, data.get("source"), source):
        return None
    if path.name.endswith(".manifest.json"):
        return FileReport(
            str(data.get("source")), "done", int(data.get("records", 0)), int(data.get("rejected", 0)),
            bytes=data.get("bytes"), superseded=int(data.get("superseded_in_file", 0)),
            offsets=report_offsets(data),
        )  # fmt: skip
    return FileReport(
        str(data.get("source")), "failed",
        int(data.get("records_produced", 0)), int(data.get("records_rejected", 0)),
        reason=str(data.get("what", "")) or None, what_to_do=str(data.get("what_to_do", "")) or None,
        has_rejected_file="rejected_file" in data,
        superseded=int(data.get("records_superseded_in_file", 0)), offsets=report_offsets(data),
        rejected_causes=_rejected_causes(data.get("rejected_causes")),
        file_error=data["file_error"] if type(data.get("file_error")) is bool else None,
    )  # fmt: skip


def _rejected_causes(causes: Any) -> tuple[tuple[str, int], ...] | None:
    if not isinstance(causes, list):
        return None
    found = []
    for cause in causes:
        if (
            isinstance(cause, dict)
            and isinstance(cause.get("reason"), str)
            and type(cause.get("count")) is int
        ):
            found.append((cause["reason"], cause["count"]))
    return tuple(found)


def _speaks_for(report_name: str, named: Any, source: str | None) -> bool:
    """Whether a report called ``report_name`` that names ``named`` is that file's (and ``source``'s)."""
    if not isinstance(named, str) or (source is not None and named != source):
        return False
    beside = stored_name(named.rpartition("/")[2])
    return any(report_name == f"{beside}{suffix}" for suffix in REPORT_SUFFIXES)


#: Causes a file's rejected records are counted by before the rest are counted together (memory stays flat)
_MAX_CAUSES = 20


class RejectedWriter:
    """Streams rejected records to a hidden temporary file while a file is processed (memory stays flat).

    Nothing is written until the first rejection. :meth:`commit` moves it to its final name;
    :meth:`discard` deletes it.
    """

    def __init__(self, temp_path: Path, mode: int = 0o600) -> None:
        self.temp_path = temp_path
        self.mode = mode
        self.count = 0
        self.first_position: str | None = None
        self.bytes = 0  # the report's size so far
        #: rejected records by cause (`schemas.reject_reasons.reject_group` key): [count, first reason]
        self.causes: dict[str, list[Any]] = {}
        self._out: IO[bytes] | None = None

    def add(self, position: str, doc_id: str | None, reason: str, record: Any) -> None:
        """Append one rejected record; raises :class:`DiskFullError` when it does not fit."""
        line = _dumps({"position": position, "id": doc_id, "reason": reason, "record": record}) + b"\n"
        try:
            if self._out is None:
                self.temp_path.parent.mkdir(parents=True, exist_ok=True)
                self._out = _create(self.temp_path, self.mode)
            self._out.write(line)
        except OSError as exc:
            raise self._full(exc, len(line)) from exc
        if self.first_position is None:
            self.first_position = position
        self.bytes += len(line)
        self.count += 1
        key = reject_group(reason).key
        if key not in self.causes and len(self.causes) >= _MAX_CAUSES:
            key, reason = "more", "other faults (the rejected records list each with its reason)"
        if (cause := self.causes.get(key)) is not None:
            cause[0] += 1
        else:
            self.causes[key] = [1, reason]

    def cause_counts(self) -> list[dict[str, Any]]:
        """The error report's ``rejected_causes``: each cause's count and the first reason of it."""
        return [{"cause": key, "count": n, "reason": reason} for key, (n, reason) in self.causes.items()]

    def _close(self) -> None:
        if self._out is not None:
            out, self._out = self._out, None
            out.close()

    def commit(self, final_path: Path) -> Path | None:
        try:
            self._close()  # the buffered tail is written here
        except OSError as exc:
            raise self._full(exc, 0) from exc
        if self.count == 0:
            return None
        os.replace(self.temp_path, final_path)
        return final_path

    def discard(self) -> None:
        """Forget the report; never raises for a full disk (the buffered tail is dropped with the file)."""
        try:
            self._close()
        except OSError as exc:
            if not is_disk_full(exc):
                raise
        self.temp_path.unlink(missing_ok=True)

    def _full(self, exc: OSError, more: int) -> OSError | DiskFullError:
        """A full disk as :class:`DiskFullError` (the whole report's size so far is what it needs)."""
        if not is_disk_full(exc):
            return exc
        return disk_full(exc, self.temp_path.parent, self.bytes + more)


def _fallback(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Decimal):
        return float(value)
    return repr(value)


def _dumps(data: Any, option: int = 0) -> bytes:
    try:
        return orjson.dumps(data, default=_fallback, option=option)
    except orjson.JSONEncodeError:  # integers beyond 64 bits, nesting beyond 254 levels
        indent = 2 if option else None
        try:
            return json.dumps(data, default=_fallback, indent=indent).encode("ascii")
        except (RecursionError, ValueError):
            return json.dumps(repr(data)[:10_000]).encode("ascii")


class FileLedger:
    """Moves finished files out of the inbox and writes their reports (see the module docstring)."""

    def __init__(self, inbox: Path, done_dir: Path, failed_dir: Path) -> None:
        self.inbox = inbox
        self.done_dir = done_dir
        self.failed_dir = failed_dir

    def rejected_writer(self, source: str, mode: int = 0o600) -> RejectedWriter:
        target = self.failed_dir / stored_source(source)
        return RejectedWriter(target.with_name(f".{target.name}.rejected.jsonl.part"), mode)

    def succeed(self, path: Path, manifest: Manifest, mode: int = 0o600, read_fd: int | None = None) -> Path:
        """Write the manifest (with ``mode``), then move ``path`` to ``done/`` (with ``read_fd``: the file
        open as that descriptor, see :mod:`producer.inbox.settle_move`). Returns its new path."""
        target = self.done_dir / stored_source(manifest.source)
        _write_json(target.with_name(f"{target.name}.manifest.json"), asdict(manifest), mode)
        _move(path, target, read_fd)
        log.info("file=%s outcome=done records=%d moved_to=%s", manifest.source, manifest.records, target)
        self._clear_earlier_failure(manifest.source)
        return target

    def _clear_earlier_failure(self, source: str) -> None:
        """A fixed file dropped again and done: its old failure report would only mislead."""
        failed = self.failed_dir / stored_source(source)
        stale = [failed, *(failed.with_name(f"{failed.name}{s}") for s in (".error.json", ".rejected.jsonl"))]
        if any(p.is_file() for p in stale):
            for p in stale:
                p.unlink(missing_ok=True)
            log.info("file=%s event=earlier_failure_cleared", source)

    def fail(
        self,
        path: Path,
        failure: FileFailure,
        rejected: RejectedWriter | None = None,
        mode: int = 0o600,
        read_fd: int | None = None,
    ) -> Path:
        """Write the error report (with ``mode``; and rejected records), then move ``path`` to ``failed/``
        (with ``read_fd``: the file open as that descriptor, see :mod:`producer.inbox.settle_move`)."""
        target = self.failed_dir / stored_source(failure.source)
        target.parent.mkdir(parents=True, exist_ok=True)
        rejected_path = target.with_name(f"{target.name}.rejected.jsonl")
        report = asdict(failure)
        if rejected is not None and rejected.commit(rejected_path) is not None:
            report["rejected_file"] = rejected_path.name
        else:
            rejected_path.unlink(missing_ok=True)  # a stale report of an earlier drop
        _write_json(target.with_name(f"{target.name}.error.json"), report, mode)
        _move(path, target, read_fd)
        log.warning(
            "file=%s outcome=failed reason=%r produced=%d rejected=%d moved_to=%s",
            failure.source,
            failure.what,
            failure.records_produced,
            failure.records_rejected,
            target,
        )
        return target


def _create(path: Path, mode: int) -> IO[bytes]:
    """A new file at ``path`` with ``mode`` (the umask may only narrow it); whatever was there is removed
    first, so an old file's wider permissions or a planted link are never reused."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    return os.fdopen(fd, "wb")


def _write_json(path: Path, data: dict[str, Any], mode: int) -> None:
    """Write ``data`` at ``path`` atomically; raises :class:`DiskFullError` (no temporary file left) when
    it does not fit."""
    body = _dumps(data, orjson.OPT_INDENT_2) + b"\n"
    temp = path.with_name(f".{path.name}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _create(temp, mode) as out:
            out.write(body)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        temp.unlink(missing_ok=True)
        raise disk_full(exc, path.parent, len(body)) from exc
    os.replace(temp, path)


def _move(source: Path, target: Path, read_fd: int | None = None) -> None:
    if read_fd is not None:
        move_read_file(source, read_fd, target)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError:
        # another file system (done/failed configured elsewhere), or the target is a directory
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        kind = os.lstat(source).st_mode
        if stat.S_ISREG(kind) or stat.S_ISLNK(kind):
            shutil.move(source, target)  # a link is moved as a link, never followed
        else:  # a FIFO, socket or device: no data to keep, and copying one would open it
            os.unlink(source)
            log.warning(
                "file=%s event=special_file_removed reason=%r", source, "failed/ is on another file system"
            )
