"""One file, start to finish: read → id → value → produce → wait for acks → ledger.

Invariant P (DESIGN): every record ends in Kafka (acked) or in the rejected report with a reason; the file
moves to ``done/`` only when every record was acked, to ``failed/`` when the file could not be read to the
end or any record was rejected. When Kafka could not confirm some records (timeouts, brokers down) or
the work was interrupted, the file stays in the inbox and is processed again from the start (same ids,
so nothing is duplicated in the index). The same holds for a file written, replaced or removed while it
was read (outcome ``changed``): it is read again once it has settled. The file is read through the
descriptor the inbox boundary checked (:mod:`producer.boundary`).
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import orjson
from confluent_kafka import KafkaException

from producer.boundary import InputOpener, OpenedInput, RefusedInputError, report_mode
from producer.ledger import FileFailure, FileLedger, Manifest, RejectedWriter
from producer.parse import parse_text
from producer.publisher import FileDeliveries, Publisher, is_record_error
from producer.reader import BadRecord, ReadOptions, is_json_lines, read_records
from producer.readiness import relative_source
from schemas.datasets import Dataset, DatasetNameError, Datasets
from schemas.errors import InputFileError, ServiceUnavailableError, SpoolbridgeError
from schemas.ids import IdFieldError, default_id, field_id
from schemas.message import FileHeaders, RecordError, encode_value
from schemas.settings import ProducerSettings

__all__ = ["FileProcessor", "FileResult"]

log = logging.getLogger(__name__)

Outcome = Literal["done", "failed", "retry", "interrupted", "gone", "changed", "unreadable"]
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
    first_id: str | None = None
    last_id: str | None = None
    source_conflicts: int = 0
    file_error: InputFileError | None = None


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
        #: reading limits shared by every dataset (each file adds its dataset's records path and splicing)
        self.read_options = ReadOptions()

    def close(self) -> None:
        self.opener.close()

    def process(self, path: Path, on_record: Callable[[int], None] | None = None) -> FileResult:
        """Produce every record of ``path`` and settle the file (done/, failed/, or left for a retry).

        Before anything is read the entry passes the inbox boundary (:mod:`producer.boundary`): a link,
        FIFO or other non-regular entry goes to ``failed/`` unread; a file that cannot be opened (e.g. no
        read permission) stays in the inbox (outcome ``unreadable``: one WARNING until it is readable).
        """
        source = relative_source(path, self.inbox)
        try:
            dataset = self.datasets.get(Datasets.name_of_source(source))
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
        started, wall_start = time.monotonic(), datetime.now(UTC)
        try:
            size, sha256 = opened.size_and_sha256()
        except OSError as exc:
            return self._unreadable(path, source, exc)
        if self.unreadable.pop(path, None) is not None:
            log.info("file=%s event=readable_again", source)
        mode = report_mode(opened.mode)
        log.info("file=%s event=start bytes=%d sha256=%s", source, size, sha256[:16])
        rejected = self.ledger.rejected_writer(source, mode)
        run = _Run(source, target.dataset, target.limit, sha256, self.publisher.begin_file(), rejected)
        interrupted = self._produce_all(opened.read_path, run, on_record)
        self.publisher.finish()
        duration = time.monotonic() - started
        result = FileResult(source, "done", run.deliveries.acked, 0, size, duration)
        result.read, result.deliveries = run.deliveries.sent + run.rejected.count, run.deliveries
        transient = [f for f in run.deliveries.failures if not f.permanent]
        if not interrupted and not transient and (changed := opened.changed()):
            run.rejected.discard()
            result.outcome, result.reason = "changed", changed
            log.warning(
                "file=%s outcome=changed reason=%r produced=%d action=left_in_inbox_read_again_once_settled",
                source,
                changed,
                result.records,
            )
            return result
        if interrupted or transient:
            run.rejected.discard()
            result.outcome = "interrupted" if interrupted else "retry"
            result.reason = (
                "stopped" if interrupted else f"Kafka did not acknowledge {len(transient)} records"
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
        if run.file_error is None and run.rejected.count == 0:
            self.ledger.succeed(path, self._manifest(run, size, wall_start, duration), mode)
        else:
            self.ledger.fail(path, self._failure(run), run.rejected, mode)
            result.outcome = "failed"
            result.reason = (
                str(run.file_error) if run.file_error else f"{_count(run.rejected.count)} rejected"
            )
        return result

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
        """Send every record; returns True if interrupted by ``stop``. File errors land in ``run``."""
        settings, publisher, topic = run.dataset.producer, self.publisher, run.dataset.topic
        id_field, source_field, conflict = settings.id_field, settings.source_field, settings.source_conflict
        limit, source = run.max_record_bytes, run.source
        headers = FileHeaders(source, run.sha256)
        since_poll = 0
        try:
            for position, item in read_records(path, self._read_options(settings, source)):
                if type(item) is bytes and len(item) + len(key := default_id(source, position)) <= limit:
                    value = item  # the common case for arrays/objects of records: a finished value
                else:
                    # a parsed record, or a finished value over the limit: parsed back, to be encoded
                    # compactly (its own whitespace may be what made it too big) before it is judged
                    record = item if type(item) is not bytes else _unspliced(item, source_field)
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
                try:
                    publisher.send(topic, key, value, headers(position))
                except KafkaException as exc:
                    if not is_record_error(exc.args[0]):
                        raise SpoolbridgeError(f"Kafka producer failed: {exc.args[0].str()}") from exc
                    reason = f"Kafka refused the record: {exc.args[0].str()}"
                    run.rejected.add(position, key, reason, _as_record(item))
                    continue
                if run.first_id is None:
                    run.first_id = key
                run.last_id = key
                since_poll += 1
                if since_poll >= _POLL_EVERY:
                    since_poll = 0
                    publisher.poll()
                    if on_record is not None:
                        on_record(_POLL_EVERY)
                    if self.stop.is_set():
                        return True
        except InputFileError as exc:
            run.file_error = exc
        if on_record is not None and since_poll:
            on_record(since_poll)
        if run.source_conflicts:
            log.info(
                "file=%s event=source_field_present records=%d field=%s action=%s",
                source,
                run.source_conflicts,
                source_field,
                conflict,
            )
        return False

    def _read_options(self, settings: ProducerSettings, source: str) -> ReadOptions:
        """How a file of a dataset with these settings is read. Without an id field, arrays and objects of
        records may hand over finished values (the record's own text with the source field spliced in,
        see :mod:`producer.scan`)."""
        return replace(
            self.read_options,
            records_path=settings.records_path,
            max_line_bytes=settings.max_message_bytes + 1024,
            splice=None if settings.id_field else (settings.source_field, source),
        )

    def _refuse_folder(self, path: Path, source: str, error: DatasetNameError) -> FileResult:
        """A file in a folder that cannot name a dataset: failed, with the reason and a name that works.
        The folder is never renamed for the user (that would change every document id in it)."""
        failure = FileFailure(
            source=source,
            what=f"{error}; no record was produced",
            what_to_do=(
                f"rename the folder {error.folder!r} to a valid dataset name such as {error.suggestion!r}, "
                "then drop the file there again"
            ),
            details={"folder": error.folder, "problem": error.problem, "suggested_name": error.suggestion},
        )
        self.ledger.fail(path, failure, mode=report_mode(None))  # nothing of the file is read
        return FileResult(source, "failed", reason=str(error))

    def _reject_not_object(self, run: _Run, position: str, record: Any) -> None:
        if isinstance(record, BadRecord):
            run.rejected.add(position, None, record.reason, record.raw)
        else:
            run.rejected.add(position, None, f"record is {_kind(record)}, not a JSON object", record)

    def _manifest(self, run: _Run, size: int, started: datetime, duration: float) -> Manifest:
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
            bytes=size,
            sha256=run.sha256,
            first_id=run.first_id,
            last_id=run.last_id,
            started_at=started.isoformat(),
            finished_at=datetime.now(UTC).isoformat(),
            duration_secs=round(duration, 6),
            records_per_s=round(acked / duration, 1) if duration > 0 else 0.0,
        )

    def _failure(self, run: _Run) -> FileFailure:
        error = run.file_error
        produced = run.deliveries.acked
        if error is not None:
            what, where = error.reason, {"unit": error.unit, "position": error.position}
            todo = unreadable_file_todo(error.hint, produced)
        else:
            what = rejected_what(run.rejected.count, produced)
            unit = "line" if is_json_lines(Path(run.source)) else "record"
            where = {"unit": unit, "position": run.rejected.first_position, "first_of": run.rejected.count}
            todo = rejected_todo(Path(run.source).name, run.rejected.count)
        return FileFailure(
            source=run.source,
            what=what,
            what_to_do=todo,
            where=where,
            records_produced=produced,
            records_rejected=run.rejected.count,
            sha256=run.sha256,
        )


def unreadable_file_todo(hint: str, produced: int) -> str:
    """``what_to_do`` of a file that could not be read to its end: the reader's hint, ending in dropping
    the file again (unless the hint already says what to drop), then what happened to its first records."""
    fix = hint or "fix the file"
    says_drop = fix.startswith("drop ") or re.search(r"\bdrop\b[^;]*\bagain$", fix) is not None
    todo = fix if says_drop else f"{fix}, then drop the file again"
    if produced == 0:
        return f"{todo} (no records were produced before the error)"
    them, were = ("it", "was") if produced == 1 else ("them", "were")
    return (
        f"{todo} (the {_count(produced)} before the error {were} produced; producing {them} again "
        f"overwrites {them}, never duplicates {them})"
    )


def rejected_what(rejected: int, produced: int) -> str:
    """``what`` of a file whose every record was read but some could not be produced."""
    could_not = f"{_count(rejected)} could not be produced"
    if produced == 0:
        return f"{could_not}, and no other records were in the file"
    return f"{could_not}; {_count(produced)} {'was' if produced == 1 else 'were'}"


def rejected_todo(name: str, rejected: int) -> str:
    """``what_to_do`` of a file with rejected records (listed in ``<name>.rejected.jsonl``)."""
    each, it = ("the record", "it") if rejected == 1 else ("each record", "them")
    return (
        f"see {name}.rejected.jsonl for {each} and its reason; fix {it} and drop the file again "
        "(records already produced are overwritten, not duplicated)"
    )


def _count(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def _unspliced(value: bytes, source_field: str) -> Any:
    """The record a finished value was made from (the spliced source field removed), as parsed."""
    record, _ = parse_text(value, True)  # integers of any length stay exact
    del record[source_field]
    return record


def _as_record(item: Any) -> Any:
    """The record for a rejected report: a finished value (``bytes``) parsed, anything else as it is."""
    return parse_text(item, True)[0] if type(item) is bytes else item


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
