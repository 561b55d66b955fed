"""One read of one file, record by record: read → id → value → Kafka, with the ids written ahead.

A :class:`FileRun` is the state of one file version while it is produced (what was sent, rejected,
superseded; its pending ids and its rejected report), and :meth:`FileRun.send_all` is the record loop:
every item :func:`producer.read.entry.read_records` yields becomes a message (its document id, its value
with the source field, within the topic's size limit) or a rejected record with its reason. What
happens to the file afterwards (replacing the previous version, settling it) is
:mod:`producer.pipeline`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException

from producer.inbox.ledger import RejectedWriter
from producer.inbox.versions import IdSet
from producer.publish.publisher import FileDeliveries, Publisher, is_record_error
from producer.read.entry import BadRecord, ReadOptions, as_record, read_records, unspliced
from schemas.datasets import Dataset
from schemas.errors import InputFileError, SpoolbridgeError
from schemas.ids import IdFieldError, default_id, field_id
from schemas.message import FileHeaders, RecordError, encode_value
from schemas.settings import ProducerSettings

__all__ = ["FileRun", "read_options_for"]

log = logging.getLogger(__name__)

#: Records per chunk: a chunk's ids are written ahead together, delivery reports served after each.
POLL_EVERY = 1000

Progress = Callable[[int], None]


@dataclass(slots=True)
class FileRun:
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
    superseded: int = 0  # records whose id a later record of this file repeats
    notes: list[str] = field(default_factory=list)  # what reading decided about the file (its report says)

    def send_all(
        self,
        path: Path,
        options: ReadOptions,
        publisher: Publisher,
        *,
        progress: Progress,
        stop: threading.Event,
    ) -> bool:
        """Send every record of ``path``; True if interrupted by ``stop``. File errors land in ``file_error``.

        Records are sent in chunks of :data:`POLL_EVERY`: a chunk's ids are written ahead (to the file's
        pending ids, :class:`producer.inbox.versions.IdSet`) before any of its records is handed to Kafka;
        ``progress`` hears how many were sent after every chunk."""
        options = replace(options, notes=self.notes)
        settings, source = self.dataset.producer, self.source
        id_field, source_field, conflict = settings.id_field, settings.source_field, settings.source_conflict
        limit, rejected = self.max_record_bytes, self.rejected
        chunk: list[tuple[str, bytes, str, Any]] = []
        queue = chunk.append
        try:
            for position, item in read_records(path, options):
                if type(item) is bytes and len(item) + len(key := default_id(source, position)) <= limit:
                    value = item  # the common case for arrays/objects of records: a finished value
                else:
                    # a parsed record, or a finished value over the limit: parsed back, to be encoded
                    # compactly (its own whitespace may be what made it too big) before it is judged
                    record = item if type(item) is not bytes else unspliced(item, source_field)
                    if type(record) is not dict:
                        if isinstance(record, BadRecord):
                            rejected.add(position, None, record.reason, record.raw)
                        else:
                            rejected.add(
                                position, None, f"record is {_kind(record)}, not a JSON object", record
                            )
                        continue
                    try:
                        key = field_id(record, id_field) if id_field else default_id(source, position)
                        if source_field in record:
                            self.source_conflicts += 1
                        value = encode_value(record, source_field, source, conflict)
                    except (IdFieldError, RecordError) as exc:
                        rejected.add(position, None, str(exc), record)
                        continue
                    if len(value) + len(key) > limit:
                        reason = f"record is {len(value) + len(key)} bytes; the topic accepts at most {limit}"
                        rejected.add(position, key, reason, record)
                        continue
                queue((key, value, position, item))
                if len(chunk) >= POLL_EVERY:
                    sent = self._send_chunk(publisher, chunk)
                    chunk.clear()
                    publisher.poll()  # serve delivery reports
                    self.read += sent
                    progress(sent)
                    if stop.is_set():
                        return True
        except InputFileError as exc:
            self.file_error = exc
        if sent := self._send_chunk(publisher, chunk):
            progress(sent)
        if self.source_conflicts:
            log.info(
                "file=%s event=source_field_present records=%d field=%s action=%s",
                source, self.source_conflicts, source_field, conflict,
            )  # fmt: skip
        return False

    def _send_chunk(self, publisher: Publisher, chunk: list[tuple[str, bytes, str, Any]]) -> int:
        """Write the chunk's ids ahead, then hand its records to Kafka; returns how many were sent."""
        if not chunk:
            return 0
        self.ids.write_ahead([key for key, _, _, _ in chunk])
        topic, headers = self.dataset.topic, FileHeaders(self.source, self.sha256)
        sent = 0
        for key, value, position, item in chunk:
            try:
                publisher.send(topic, key, value, headers(position))
            except KafkaException as exc:
                if not is_record_error(exc.args[0]):
                    raise SpoolbridgeError(f"Kafka producer failed: {exc.args[0].str()}") from exc
                self.ids.remove([key])
                reason = f"Kafka refused the record: {exc.args[0].str()}"
                self.rejected.add(position, key, reason, as_record(item))
                continue
            sent += 1
        if self.first_id is None:
            self.first_id = chunk[0][0]
        self.last_id = chunk[-1][0]
        return sent

    def forget_quietly(self) -> None:
        """Drop this attempt's rejected report and stop writing its ids, which stay pending (written ahead
        of every record sent: the next complete version deletes those it lacks)."""
        self.rejected.discard()
        self.ids.close()


def read_options_for(base: ReadOptions, settings: ProducerSettings, source: str) -> ReadOptions:
    """How a file of a dataset with these settings is read. Without an id field, arrays and objects of
    records may hand over finished values (the record's own text with the source field spliced in,
    see :mod:`producer.read.framing.json_scanner`)."""
    return replace(
        base,
        records_path=settings.records_path,
        max_line_bytes=settings.max_message_bytes + 1024,
        splice=None if settings.id_field else (settings.source_field, source),
        csv_delimiter=settings.csv_delimiter,
        csv_quotechar=settings.csv_quotechar,
        csv_types=settings.csv_types == "infer",
    )


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
