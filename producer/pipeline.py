"""One file, start to finish: read → id → value → produce → wait for acks → ledger.

Invariant P (DESIGN): every record ends in Kafka (acked) or in the rejected report with a reason; the file
moves to ``done/`` only when every record was acked, to ``failed/`` when the file could not be read to the
end or any record was rejected. When Kafka could not confirm some records (timeouts, brokers down) or
the work was interrupted, the file stays in the inbox and is processed again from the start (same ids,
so nothing is duplicated in the index). The same holds for a file written, replaced or removed while it
was read (outcome ``changed``): it is read again once it has settled. The file is read through the
descriptor the inbox boundary checked (:mod:`producer.inbox.boundary`). A write that does not fit on the disk
(a report, the ids, the reading note) leaves the file in the inbox (outcome ``no_space``): the service
tries it again after a back-off, and one WARNING names the folder and the bytes it needs.
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import orjson
from confluent_kafka import KafkaException

from producer.inbox.boundary import InputOpener, OpenedInput, RefusedInputError, report_mode
from producer.inbox.choices import DatasetChoices
from producer.inbox.ledger import FileFailure, FileLedger, Manifest, RejectedWriter
from producer.inbox.readiness import relative_source
from producer.inbox.reading_note import ReadingNote
from producer.inbox.report_names import name_without_report_suffix, report_name_problem
from producer.inbox.reports import count_text, failure_report, refused_folder_report
from producer.inbox.versions import IdSet, Version, VersionHistory, replace_previous
from producer.publish.publisher import FileDeliveries, Publisher, is_record_error
from producer.read.entry import BadRecord, ReadOptions, as_record, read_records, unspliced
from schemas.datasets import Dataset, DatasetNameError, Datasets
from schemas.disk import DiskFullError, disk_full, is_disk_full
from schemas.errors import InputFileError, ServiceUnavailableError, SpoolbridgeError
from schemas.ids import IdFieldError, default_id, field_id
from schemas.message import FileHeaders, RecordError, encode_value
from schemas.settings import ProducerSettings

__all__ = ["FileProcessor", "FileResult"]

log = logging.getLogger(__name__)

Outcome = Literal["done", "failed", "retry", "interrupted", "gone", "changed", "unreadable", "no_space"]
_POLL_EVERY = 1000


@dataclass(slots=True)
class FileResult:
    source: str
    outcome: Outcome
    records: int = 0
    rejected: int = 0
    bytes: int = 0
    duration_secs: float = 0.0
    reason: str = ""
    read: int = 0  # records taken from the file: sent to Kafka or rejected before sending
    deliveries: FileDeliveries | None = None  # what Kafka said about the records sent (None: none were)
    superseded: int = 0  # records overwritten by a later record of the same file (same id)
    newer_version_waiting: bool = False  # settled, and a newer version was renamed onto the path meanwhile

    @property
    def records_per_s(self) -> float:
        return self.records / self.duration_secs if self.duration_secs > 0 else 0.0


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a file's records go: its dataset, and the largest record that dataset's topic takes."""

    source: str
    dataset: Dataset
    limit: int


@dataclass(slots=True)
class _Run:
    """Mutable state of one file while it is produced."""

    source: str
    dataset: Dataset
    max_record_bytes: int
    sha256: str
    deliveries: FileDeliveries
    rejected: RejectedWriter
    ids: IdSet
    report_mode: int  # permissions of the reports and ids written about this file
    first_id: str | None = None
    last_id: str | None = None
    source_conflicts: int = 0
    file_error: InputFileError | None = None
    tombstone_failures: int = 0
    read: int = 0  # records read so far, counted at checkpoints
    replaced: tuple[int, int] = (0, 0)  # (documents of the previous version, how many were deleted)
    keep: list[str] = field(default_factory=list)  # stale ids left live (an incomplete version)
    disk_full: DiskFullError | None = None  # a write while reading did not fit: the read was stopped
    superseded: int = 0  # records whose id a later record of this file repeats


class FileProcessor:
    """Processes one ready file at a time (see the module docstring)."""

    def __init__(
        self,
        inbox: Path,
        datasets: Datasets,
        publisher: Publisher,
        ledger: FileLedger,
        stop: threading.Event | None = None,
    ) -> None:
        self.inbox = inbox
        self.datasets = datasets
        self.publisher = publisher
        self.ledger = ledger
        self.stop = stop or threading.Event()
        excluded = (ledger.done_dir.absolute(), ledger.failed_dir.absolute())
        follow = datasets.settings.producer.follow_symlinks
        self.opener = InputOpener(inbox, excluded, follow_symlinks=follow)
        #: files that could not be opened (path → reason), warned about once, retried by the service
        self.unreadable: dict[Path, str] = {}
        self.versions = VersionHistory(inbox)
        self.note = ReadingNote(inbox)
        self.choices = DatasetChoices(inbox)  # id fields chosen on the page
        #: reading limits shared by every dataset (each file adds its dataset's records path and splicing)
        self.read_options = ReadOptions()
        #: files a full disk keeps in the inbox (source → why): one WARNING until every one has settled
        self.disk_full: dict[str, DiskFullError] = {}

    def close(self) -> None:
        self.opener.close()

    def prepare_dataset(self, folder: Path) -> None:
        """A dataset folder appeared: make its topics now, so that the consumer has found them by the time
        its first file is complete (an upload takes a while). A folder that cannot name a dataset, or a
        broker that does not answer, is left to its first file, which reports it; a link to a folder gets
        no topics (nothing is read through it)."""
        if folder.is_symlink():
            log.info("dataset_folder=%s event=topics_not_made reason='a symbolic link'", folder.name)
            return
        try:
            dataset = self.datasets.get(Datasets.name_of_source(f"{folder.name}/"))
            self.publisher.prepare(dataset.topic, dataset.dead_letter_topic)
        except (DatasetNameError, ServiceUnavailableError) as exc:
            log.info("dataset_folder=%s event=topics_not_made reason=%r", folder.name, str(exc))

    def process(self, path: Path, on_record: Callable[[int], None] | None = None) -> FileResult:
        """Produce every record of ``path`` and settle the file (done/, failed/, or left for a retry).

        Before anything is read the entry passes the inbox boundary (:mod:`producer.inbox.boundary`): a
        name that would pass for a report (:mod:`producer.inbox.report_names`), a link, a hard-linked
        file, a FIFO or other non-regular entry goes to ``failed/`` unread; a file that cannot be opened
        (e.g. no read permission) stays in the inbox (outcome ``unreadable``: one WARNING until it is
        readable).
        A full disk is never raised: the file stays in the inbox (outcome ``no_space``).
        """
        source = relative_source(path, self.inbox)
        if (problem := report_name_problem(path.name)) is not None:  # it could take a report's place
            fix = f"rename it to {name_without_report_suffix(path.name)!r} and drop it again"
            return self._refuse(path, source, RefusedInputError(problem, fix))
        try:
            result = self._process(path, source, on_record)
        except DiskFullError as full:
            return self._no_space(source, full)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            return self._no_space(source, disk_full(exc, self.inbox))
        if result.outcome in ("done", "failed", "gone"):
            self._settled_after_disk_full(source)
        return result

    def _settled_after_disk_full(self, source: str) -> None:
        paused = self.disk_full.pop(source, None)
        if paused is not None and not self.disk_full:
            log.info("file=%s event=disk_space_returned folder=%s", source, paused.folder)

    def _no_space(self, source: str, full: DiskFullError) -> FileResult:
        """The file stays in the inbox for a retry; one WARNING per full disk, not one per attempt."""
        needed = "unknown" if full.needed is None else str(full.needed)
        free = "unknown" if full.free is None else str(full.free)
        if not self.disk_full:
            log.warning(
                "file=%s outcome=no_space folder=%s bytes_needed=%s bytes_free=%s "
                "action=left_in_inbox_retried hint=%r",
                source, full.folder, needed, free, "free space there; the producer resumes by itself",
            )  # fmt: skip
        else:
            log.debug("file=%s outcome=no_space folder=%s bytes_needed=%s", source, full.folder, needed)
        self.disk_full[source] = full
        return FileResult(source, "no_space", reason=str(full))

    def _process(self, path: Path, source: str, on_record: Callable[[int], None] | None) -> FileResult:
        try:
            dataset = self.choices.apply(self.datasets.get(Datasets.name_of_source(source)))
        except DatasetNameError as exc:
            return self._refuse_folder(path, source, exc)
        try:
            limit = self.publisher.prepare(dataset.topic, dataset.dead_letter_topic)
        except ServiceUnavailableError as exc:
            log.warning("file=%s outcome=retry reason=%r action=left_in_inbox", source, str(exc))
            return FileResult(source, "retry", reason=str(exc))
        try:
            opened = self.opener.open(path)
        except RefusedInputError as refused:
            return self._refuse(path, source, refused)
        except (FileNotFoundError, IsADirectoryError) as exc:
            log.info("file=%s event=gone_before_read error=%r", source, exc.strerror)
            self.unreadable.pop(path, None)
            return FileResult(source, "gone", reason=str(exc.strerror))
        except OSError as exc:
            return self._unreadable(path, source, exc)
        with opened:
            return self._process_opened(path, opened, _Target(source, dataset, limit), on_record)

    def _process_opened(
        self, path: Path, opened: OpenedInput, target: _Target, on_record: Callable[[int], None] | None
    ) -> FileResult:
        source = target.source
        clock = (time.monotonic(), datetime.now(UTC))
        try:
            size, sha256 = opened.size_and_sha256()
        except OSError as exc:
            return self._unreadable(path, source, exc)
        if self.unreadable.pop(path, None) is not None:
            log.info("file=%s event=readable_again", source)
        log.info("file=%s event=start bytes=%d sha256=%s", source, size, sha256[:16])
        self.note.start(source, target.dataset.name, size)
        try:
            return self._produce_and_settle(
                path, opened, target, on_record=on_record, size=size, sha256=sha256, clock=clock
            )
        finally:
            self.note.clear()

    def _produce_and_settle(
        self,
        path: Path,
        opened: OpenedInput,
        target: _Target,
        *,
        on_record: Callable[[int], None] | None,
        size: int,
        sha256: str,
        clock: tuple[float, datetime],
    ) -> FileResult:
        """Produce every record, replace the previous version, settle the file (see the module docstring)."""
        source = target.source
        mode = report_mode(opened.mode)
        rejected = self.ledger.rejected_writer(source, mode)
        ids = self.versions.new_ids(source, mode)
        run = _Run(
            source, target.dataset, target.limit, sha256, self.publisher.begin_file(), rejected, ids, mode
        )
        try:
            return self._settle(path, opened, run, on_record=on_record, size=size, clock=clock)
        except (DiskFullError, OSError) as exc:
            if isinstance(exc, OSError) and not is_disk_full(exc):
                raise
            _forget_quietly(run)  # frees what this attempt wrote; the retry starts from nothing
            raise

    def _settle(
        self,
        path: Path,
        opened: OpenedInput,
        run: _Run,
        *,
        on_record: Callable[[int], None] | None,
        size: int,
        clock: tuple[float, datetime],
    ) -> FileResult:
        source, (started, wall_start), mode = run.source, clock, run.report_mode
        try:
            interrupted = self._produce_all(opened.read_path, run, on_record)
        except (DiskFullError, OSError) as exc:  # a rejected record's report, or the ids, did not fit
            if isinstance(exc, OSError) and not is_disk_full(exc):
                raise
            run.disk_full = exc if isinstance(exc, DiskFullError) else disk_full(exc, self.inbox)
            interrupted = True
        except BaseException:
            run.ids.close()  # the ids sent so far stay pending for the next version
            raise
        self.publisher.finish()
        if run.disk_full is not None:
            raise run.disk_full  # after finish(): every record sent is acked before the retry
        duration = time.monotonic() - started
        result = FileResult(source, "done", run.deliveries.acked, 0, size, duration)
        result.read, result.deliveries = run.deliveries.sent + run.rejected.count, run.deliveries
        transient = [f for f in run.deliveries.failures if not f.permanent]
        if not interrupted and not transient and (changed := opened.changed()):
            run.rejected.discard()
            run.ids.close()  # its ids stay pending: the next complete version deletes those it lacks
            result.outcome, result.reason = "changed", changed
            log.warning(
                "file=%s outcome=changed reason=%r produced=%d action=left_in_inbox_read_again_once_settled",
                source,
                changed,
                result.records,
            )
            return result
        if interrupted or transient or not self._replace_previous_version(run):
            run.rejected.discard()
            run.ids.close()  # its ids stay pending: the next complete version deletes those it lacks
            result.outcome = "interrupted" if interrupted else "retry"
            result.reason = (
                "stopped"
                if interrupted
                else f"Kafka did not acknowledge {count_text(len(transient) or run.tombstone_failures)}"
            )
            log.warning(
                "file=%s outcome=%s reason=%r action=left_in_inbox", source, result.outcome, result.reason
            )
            return result
        for failure in run.deliveries.failures:
            record = orjson.loads(failure.value) if failure.value else None
            reason = f"Kafka refused the record: {failure.error}"
            run.rejected.add(failure.position, failure.key, reason, record)
        result.rejected = run.rejected.count
        result.superseded = run.superseded = self._count_superseded(run)
        if run.file_error is None and run.rejected.count == 0:
            versions = self._record_version(run, "done", mode)
            manifest = self._manifest(run, size, wall_start, duration, versions)
            self.ledger.succeed(path, manifest, mode, read_fd=opened.fd)
        else:
            versions = self._record_version(run, "failed", mode)
            report = failure_report(
                run.source, run.sha256, run.deliveries.acked, run.file_error, run.rejected
            )
            report.records_superseded_in_file = run.superseded
            report.offsets = run.deliveries.offsets.as_report()
            report.details["versions"] = [v.as_dict() for v in versions]
            self.ledger.fail(path, report, run.rejected, mode, read_fd=opened.fd)
            result.outcome = "failed"
            result.reason = (
                str(run.file_error) if run.file_error else f"{count_text(run.rejected.count)} rejected"
            )
        # the read file was moved; a path that names a file now holds a newer version, renamed onto it
        # after the read (its events may have been coalesced with the old one's): it is read next
        result.newer_version_waiting = os.path.lexists(path)
        return result

    def _count_superseded(self, run: _Run) -> int:
        """Records overwritten by a later record of the same file (only an id field can repeat an id)."""
        if not run.dataset.producer.id_field:
            return 0
        superseded = run.ids.superseded()
        if superseded:
            log.warning(
                "file=%s event=ids_repeated superseded=%d field=%s message=%r",
                run.source, superseded, run.dataset.producer.id_field,
                f"{count_text(superseded)} share an id with a later record of this file: the last one wins",
            )  # fmt: skip
        return superseded

    def _refuse(self, path: Path, source: str, refused: RefusedInputError) -> FileResult:
        """Move an entry that is not read to ``failed/`` with its reason (its content is never read)."""
        failure = FileFailure(source=source, what=f"not read: {refused.reason}", what_to_do=refused.hint)
        self.ledger.fail(path, failure, mode=report_mode(None))
        return FileResult(source, "failed", reason=failure.what)

    def _unreadable(self, path: Path, source: str, exc: OSError) -> FileResult:
        """The file stays in the inbox and is tried again; one WARNING per file until it can be read."""
        reason = str(exc.strerror or exc)
        if path not in self.unreadable:
            log.warning(
                "file=%s outcome=unreadable reason=%r action=left_in_inbox_retried hint=%r",
                source,
                reason,
                f"make it readable by the user the producer runs as (uid {os.getuid()}), "
                f"e.g. chmod a+r {shlex.quote(str(path))}; it is picked up then",
            )
        else:
            log.debug("file=%s outcome=unreadable reason=%r", source, reason)
        self.unreadable[path] = reason
        return FileResult(source, "unreadable", reason=reason)

    def _produce_all(self, path: Path, run: _Run, on_record: Callable[[int], None] | None) -> bool:
        """Send every record; returns True if interrupted by ``stop``. File errors land in ``run``.

        Records are sent in chunks of ``_POLL_EVERY``: a chunk's ids are written ahead (to the file's
        pending ids, :class:`producer.inbox.versions.IdSet`) before any of its records is handed to Kafka."""
        settings, source = run.dataset.producer, run.source
        id_field, source_field, conflict = settings.id_field, settings.source_field, settings.source_conflict
        limit = run.max_record_bytes
        chunk: list[tuple[str, bytes, str, Any]] = []
        queue = chunk.append
        try:
            for position, item in read_records(path, self._read_options(settings, source)):
                if type(item) is bytes and len(item) + len(key := default_id(source, position)) <= limit:
                    value = item  # the common case for arrays/objects of records: a finished value
                else:
                    # a parsed record, or a finished value over the limit: parsed back, to be encoded
                    # compactly (its own whitespace may be what made it too big) before it is judged
                    record = item if type(item) is not bytes else unspliced(item, source_field)
                    if type(record) is not dict:
                        self._reject_not_object(run, position, record)
                        continue
                    try:
                        key = field_id(record, id_field) if id_field else default_id(source, position)
                        if source_field in record:
                            run.source_conflicts += 1
                        value = encode_value(record, source_field, source, conflict)
                    except (IdFieldError, RecordError) as exc:
                        run.rejected.add(position, None, str(exc), record)
                        continue
                    if len(value) + len(key) > limit:
                        reason = f"record is {len(value) + len(key)} bytes; the topic accepts at most {limit}"
                        run.rejected.add(position, key, reason, record)
                        continue
                queue((key, value, position, item))
                if len(chunk) >= _POLL_EVERY:
                    sent = self._send_chunk(run, chunk)
                    chunk.clear()
                    if self._checkpoint(run, sent, on_record):
                        return True
        except InputFileError as exc:
            run.file_error = exc
        sent = self._send_chunk(run, chunk)
        if on_record is not None and sent:
            on_record(sent)
        if run.source_conflicts:
            log.info(
                "file=%s event=source_field_present records=%d field=%s action=%s",
                source, run.source_conflicts, source_field, conflict,
            )  # fmt: skip
        return False

    def _send_chunk(self, run: _Run, chunk: list[tuple[str, bytes, str, Any]]) -> int:
        """Write the chunk's ids ahead, then hand its records to Kafka; returns how many were sent."""
        if not chunk:
            return 0
        run.ids.write_ahead([key for key, _, _, _ in chunk])
        publisher, topic, headers = self.publisher, run.dataset.topic, FileHeaders(run.source, run.sha256)
        sent = 0
        for key, value, position, item in chunk:
            try:
                publisher.send(topic, key, value, headers(position))
            except KafkaException as exc:
                if not is_record_error(exc.args[0]):
                    raise SpoolbridgeError(f"Kafka producer failed: {exc.args[0].str()}") from exc
                run.ids.remove([key])
                reason = f"Kafka refused the record: {exc.args[0].str()}"
                run.rejected.add(position, key, reason, as_record(item))
                continue
            sent += 1
        if run.first_id is None:
            run.first_id = chunk[0][0]
        run.last_id = chunk[-1][0]
        return sent

    def _checkpoint(self, run: _Run, sent: int, on_record: Callable[[int], None] | None) -> bool:
        """After every chunk: serve delivery reports, report progress; True when asked to stop."""
        self.publisher.poll()
        run.read += sent
        self.note.update(run.read)
        if on_record is not None:
            on_record(sent)
        return self.stop.is_set()

    def _replace_previous_version(self, run: _Run) -> bool:
        """Delete the documents of the file's previous version that this one did not produce (see
        :mod:`producer.inbox.versions`); False when Kafka did not acknowledge every tombstone."""
        run.ids.remove([f.key for f in run.deliveries.failures])
        headers = FileHeaders(run.source, run.sha256)("-")
        replaced = replace_previous(
            self.versions, self.publisher, run.source,
            topic=run.dataset.topic, headers=headers, ids=run.ids, complete=run.file_error is None,
        )  # fmt: skip
        run.replaced, run.keep, run.tombstone_failures = replaced.counts, replaced.keep, replaced.failures
        if (tombstones := self.publisher.current) is not run.deliveries:  # a tombstone lost is this read's
            run.deliveries.offsets.include(tombstones.offsets)
        return not replaced.failures

    def _record_version(self, run: _Run, outcome: str, mode: int) -> list[Version]:
        previous = self.versions.versions(run.source)
        version = Version(
            number=previous[-1].number + 1 if previous else 1,
            sha256=run.sha256,
            records=run.deliveries.acked,
            outcome=outcome,
            finished_at=datetime.now(UTC).isoformat(),
            replaced_records=run.replaced[0],
            deleted=run.replaced[1],
            superseded_in_file=run.superseded,
        )
        return self.versions.record(run.source, version, run.ids, run.keep, mode)

    def _read_options(self, settings: ProducerSettings, source: str) -> ReadOptions:
        """How a file of a dataset with these settings is read. Without an id field, arrays and objects of
        records may hand over finished values (the record's own text with the source field spliced in,
        see :mod:`producer.read.framing.json_scanner`)."""
        return replace(
            self.read_options,
            records_path=settings.records_path,
            max_line_bytes=settings.max_message_bytes + 1024,
            splice=None if settings.id_field else (settings.source_field, source),
            csv_delimiter=settings.csv_delimiter,
            csv_quotechar=settings.csv_quotechar,
            csv_types=settings.csv_types == "infer",
        )

    def _refuse_folder(self, path: Path, source: str, error: DatasetNameError) -> FileResult:
        """A file in a folder that cannot name a dataset: failed, with the reason and a name that works.
        The folder is never renamed for the user (that would change every document id in it)."""
        failure = refused_folder_report(source, error)
        self.ledger.fail(path, failure, mode=report_mode(None))  # nothing of the file is read
        return FileResult(source, "failed", reason=str(error))

    def _reject_not_object(self, run: _Run, position: str, record: Any) -> None:
        if isinstance(record, BadRecord):
            run.rejected.add(position, None, record.reason, record.raw)
        else:
            run.rejected.add(position, None, f"record is {_kind(record)}, not a JSON object", record)

    def _manifest(
        self, run: _Run, size: int, started: datetime, duration: float, versions: list[Version]
    ) -> Manifest:
        acked = run.deliveries.acked
        log.info(
            "file=%s event=end records=%d bytes=%d duration_secs=%.3f records_per_s=%.0f",
            run.source,
            acked,
            size,
            duration,
            acked / duration if duration > 0 else 0.0,
        )
        return Manifest(
            source=run.source,
            dataset=run.dataset.name,
            topic=run.dataset.topic,
            records=acked,
            superseded_in_file=run.superseded,
            bytes=size,
            sha256=run.sha256,
            first_id=run.first_id,
            last_id=run.last_id,
            started_at=started.isoformat(),
            finished_at=datetime.now(UTC).isoformat(),
            duration_secs=round(duration, 6),
            records_per_s=round(acked / duration, 1) if duration > 0 else 0.0,
            version=versions[-1].number,
            versions=[v.as_dict() for v in versions],
            offsets=run.deliveries.offsets.as_report(),
        )


def _forget_quietly(run: _Run) -> None:
    """On a full disk: drop the attempt's rejected report (its buffered tail cannot be written) and stop
    writing its ids, which stay pending (written ahead of every record sent: the next complete version
    deletes those it lacks)."""
    run.rejected.discard()
    run.ids.close()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):  # Decimal: big files with integers beyond 64 bits
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__
