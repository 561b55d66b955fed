"""One file, start to finish: the boundary → the record loop (:mod:`producer.file_run`) → wait for acks
→ replace the previous version → the ledger.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson

from producer.file_run import FileRun, read_options_for
from producer.inbox.boundary import InputOpener, OpenedInput, RefusedInputError, report_mode
from producer.inbox.choices import DatasetChoices
from producer.inbox.ledger import FileFailure, FileLedger, Manifest
from producer.inbox.readiness import relative_source
from producer.inbox.reading_note import ReadingNote
from producer.inbox.report_names import name_without_report_suffix, report_name_problem
from producer.inbox.reports import count_text, failure_report, refused_folder_report
from producer.inbox.versions import Version, VersionHistory, replace_previous
from producer.publish.publisher import FileDeliveries, Publisher
from producer.read.entry import ReadOptions
from schemas.datasets import Dataset, DatasetNameError, Datasets
from schemas.disk import DiskFullError, disk_full, is_disk_full
from schemas.errors import ServiceUnavailableError
from schemas.message import FileHeaders

__all__ = ["FileProcessor", "FileResult"]

log = logging.getLogger(__name__)

Outcome = Literal["done", "failed", "retry", "interrupted", "gone", "changed", "unreadable", "no_space"]


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
        """Produce every record, replace the previous version, settle the file (see the module docstring).

        The order is the design: every record sent is acknowledged by Kafka (``finish``) before anything
        is decided about the file; the previous version's ids are deleted only after this version's
        records are acknowledged, and only a read that was complete, unchanged and wholly acknowledged
        settles the file in the ledger (``done/`` or ``failed/``). Anything less leaves it in the inbox
        with its ids pending (the next complete version deletes those it lacks)."""
        source, mode = target.source, opened.report_mode
        rejected = self.ledger.rejected_writer(source, mode)
        ids = self.versions.new_ids(source, mode)
        run = FileRun(
            source, target.dataset, target.limit, sha256, self.publisher.begin_file(), rejected, ids, mode
        )
        options = read_options_for(self.read_options, target.dataset.producer, source)
        try:
            interrupted = run.send_all(
                opened.read_path,
                options,
                self.publisher,
                progress=self._progress(run, on_record),
                stop=self.stop,
            )
        except BaseException as exc:
            full = self._disk_full_of(exc)  # a rejected record's report, or the ids, did not fit
            if full is None:
                run.ids.close()  # the ids sent so far stay pending for the next version
                raise
            self.publisher.finish()  # every record sent is acked before the retry
            run.forget_quietly()  # frees what this attempt wrote; the retry starts from nothing
            raise full from exc
        self.publisher.finish()
        result = _sent_result(run, size, time.monotonic() - clock[0])
        transient = [f for f in run.deliveries.failures if not f.permanent]
        try:
            if not interrupted and not transient and (changed := opened.changed()):
                return _left_in_inbox(run, result, "changed", changed)
            if interrupted or transient or not self._replace_previous_version(run):
                lost = len(transient) or run.tombstone_failures
                reason = "stopped" if interrupted else f"Kafka did not acknowledge {count_text(lost)}"
                return _left_in_inbox(run, result, "interrupted" if interrupted else "retry", reason)
            self._reject_refused(run, result)
            if run.file_error is None and run.rejected.count == 0:
                versions = self._record_version(run, "done", mode)
                manifest = self._manifest(run, size, clock[1], result.duration_secs, versions)
                self.ledger.succeed(path, manifest, mode, read_fd=opened.fd)
            else:
                report = self._failure_report(run, result)
                self.ledger.fail(path, report, run.rejected, mode, read_fd=opened.fd)
        except BaseException as exc:
            if self._disk_full_of(exc) is not None:
                run.forget_quietly()  # frees what this attempt wrote; the retry starts from nothing
            raise
        # the read file was moved; a path that names a file now holds a newer version, renamed onto it
        # after the read (its events may have been coalesced with the old one's): it is read next
        result.newer_version_waiting = os.path.lexists(path)
        return result

    def _progress(self, run: FileRun, on_record: Callable[[int], None] | None) -> Callable[[int], None]:
        """After every chunk sent: the reading note, and the caller's count."""

        def progress(sent: int) -> None:
            self.note.update(run.read)
            if on_record is not None:
                on_record(sent)

        return progress

    def _disk_full_of(self, exc: BaseException) -> DiskFullError | None:
        """The full disk this error is, if it is one (an ``OSError`` of a full disk named by its folder)."""
        if isinstance(exc, DiskFullError):
            return exc
        if isinstance(exc, OSError) and is_disk_full(exc):
            return disk_full(exc, self.inbox)
        return None

    def _reject_refused(self, run: FileRun, result: FileResult) -> None:
        """Records Kafka refused for good join the rejected report; the superseded ones are counted."""
        for failure in run.deliveries.failures:
            record = orjson.loads(failure.value) if failure.value else None
            reason = f"Kafka refused the record: {failure.error}"
            run.rejected.add(failure.position, failure.key, reason, record)
        result.rejected = run.rejected.count
        result.superseded = run.superseded = self._count_superseded(run)

    def _failure_report(self, run: FileRun, result: FileResult) -> FileFailure:
        """The error report of a read that settles in ``failed/`` (a file error, or rejected records)."""
        versions = self._record_version(run, "failed", run.report_mode)
        report = failure_report(run.source, run.sha256, run.deliveries.acked, run.file_error, run.rejected)
        report.records_superseded_in_file = run.superseded
        report.offsets = run.deliveries.offsets.as_report()
        report.notes = run.notes
        report.details["versions"] = [v.as_dict() for v in versions]
        result.outcome = "failed"
        result.reason = (
            str(run.file_error) if run.file_error else f"{count_text(run.rejected.count)} rejected"
        )
        return report

    def _count_superseded(self, run: FileRun) -> int:
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

    def _replace_previous_version(self, run: FileRun) -> bool:
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

    def _record_version(self, run: FileRun, outcome: str, mode: int) -> list[Version]:
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

    def _refuse_folder(self, path: Path, source: str, error: DatasetNameError) -> FileResult:
        """A file in a folder that cannot name a dataset: failed, with the reason and a name that works.
        The folder is never renamed for the user (that would change every document id in it)."""
        failure = refused_folder_report(source, error)
        self.ledger.fail(path, failure, mode=report_mode(None))  # nothing of the file is read
        return FileResult(source, "failed", reason=str(error))

    def _manifest(
        self, run: FileRun, size: int, started: datetime, duration: float, versions: list[Version]
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
            notes=run.notes,
        )


def _sent_result(run: FileRun, size: int, duration: float) -> FileResult:
    """What a read that reached Kafka amounts to, before the file is settled."""
    result = FileResult(run.source, "done", run.deliveries.acked, 0, size, duration)
    result.read, result.deliveries = run.deliveries.sent + run.rejected.count, run.deliveries
    return result


def _left_in_inbox(run: FileRun, result: FileResult, outcome: Outcome, reason: str) -> FileResult:
    """A read that does not settle the file: its report is dropped and its ids stay pending (the next
    complete version deletes those it lacks); the file is read again (once it has settled, if changed)."""
    run.rejected.discard()
    run.ids.close()
    result.outcome, result.reason = outcome, reason
    if outcome == "changed":
        log.warning(
            "file=%s outcome=changed reason=%r produced=%d action=left_in_inbox_read_again_once_settled",
            run.source, reason, result.records,
        )  # fmt: skip
    else:
        log.warning("file=%s outcome=%s reason=%r action=left_in_inbox", run.source, outcome, reason)
    return result
