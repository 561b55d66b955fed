"""Dead letters of one dataset, by source file: a background reader per dead-letter topic, so the page
can show live counts without reading the topic from its start on every tick.

Counts follow ``spoolbridge status``: outstanding letters only, one per document (a replay settles them,
a newer settled version of their file supersedes them: :mod:`schemas.letter_ledger`); a dead letter
belongs to the file its ``spoolbridge-source`` header names (else its value's source field).
:func:`read_dead_letters` reads a topic from its start to its end, for the download of one file's
dead letters: the outstanding ones, the same the card counts (:class:`FileLetters`), and a last line
saying how many were replayed or superseded.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Generator
from typing import Any

import orjson

from schemas.dlq import HEADER_PREFIX
from schemas.letter_ledger import (
    LatestVersion,
    OutstandingLetters,
    is_replay_mark,
    letter_identity,
    no_history,
)
from schemas.letter_reasons import ReasonGroup
from schemas.message import HEADER_SOURCE
from schemas.settings import KafkaSettings

__all__ = ["DeadLetterTail", "FileLetters", "read_dead_letters", "source_of"]

log = logging.getLogger(__name__)


def source_of(message: Any, source_field: str) -> str:
    """The source file a dead letter came from."""
    for name, value in message.headers() or []:
        if name == HEADER_SOURCE and value is not None:
            return str(value.decode("utf-8", "replace"))
    try:
        value = orjson.loads(message.value() or b"")
    except orjson.JSONDecodeError:
        return "(unknown)"
    return str(value.get(source_field, "(unknown)")) if isinstance(value, dict) else "(unknown)"


def _with_source(message: Any, source_field: str) -> list[tuple[str, bytes | None]]:
    """The message's headers, with the source header the ledger counts by (from the value if absent)."""
    headers = list(message.headers() or [])
    if not any(name == HEADER_SOURCE for name, _ in headers) and message.value() is not None:
        headers.append((HEADER_SOURCE, source_of(message, source_field).encode()))
    return headers


def _consumer(kafka: KafkaSettings) -> Any:
    from confluent_kafka import Consumer

    return Consumer(
        {
            **kafka.client_config(),
            "group.id": f"spoolbridge-web-{uuid.uuid4().hex}",  # never committed: only to read
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "topic.metadata.refresh.interval.ms": 5000,
        }
    )


class DeadLetterTail:
    """Counts a dead-letter topic's outstanding letters by source, from its start, as they arrive (a daemon
    thread)."""

    def __init__(
        self, kafka: KafkaSettings, topic: str, source_field: str, latest_version: LatestVersion = no_history
    ) -> None:
        self.topic = topic
        self._kafka = kafka
        self._source_field = source_field
        self._letters = OutstandingLetters(latest_version)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dlq-tail-{topic}", daemon=True)
        self._thread.start()

    def count(self, source: str) -> int:
        """The source's outstanding dead letters (a replay settles them, a newer settled version of the
        file supersedes them: :mod:`schemas.letter_ledger`)."""
        with self._lock:
            return self._letters.outstanding[source]

    def reasons(self, source: str) -> list[tuple[ReasonGroup, int]]:
        """Why the source's outstanding letters were written, each cause with its count, most first."""
        with self._lock:
            return self._letters.reasons(source)

    def stop(self) -> None:
        """Ask the reader to stop without waiting (:meth:`close` waits)."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        consumer = _consumer(self._kafka)
        try:
            consumer.subscribe([self.topic])  # a topic made later is picked up at the next metadata refresh
            while not self._stop.is_set():
                for message in consumer.consume(num_messages=500, timeout=0.5):
                    if message.error() is None:
                        headers = _with_source(message, self._source_field)
                        with self._lock:
                            self._letters.add(message.key(), message.value(), headers, message.offset() or 0)
        except Exception:  # a page that shows no dead letters must not take the server down
            log.exception("topic=%s event=dead_letter_tail_failed", self.topic)
        finally:
            consumer.close()


class FileLetters:
    """Which dead letters of one ``source`` the download lists: the outstanding ones, as the card counts
    them (:class:`~schemas.letter_ledger.OutstandingLetters`): of each document, its latest letter, unless
    a replay settled it or a newer settled version of the file superseded it.

    Fed every message of the topic twice, in the same order: :meth:`add` first (the ledger), then
    :meth:`lists` (whether this message is a listed letter). Pure: no Kafka."""

    def __init__(self, source: str, latest_version: LatestVersion = no_history) -> None:
        self.source = source
        self.ledger = OutstandingLetters(latest_version)
        self._latest: dict[bytes, tuple[int, int]] = {}  # identity → (partition, offset) of its letter

    def add(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]], partition: int,
        offset: int,
    ) -> None:  # fmt: skip
        self.ledger.add(key, value, headers, offset)
        if not is_replay_mark(value, headers):
            self._latest[letter_identity(key, headers)] = (partition, offset)

    def lists(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]], partition: int,
        offset: int,
    ) -> bool:  # fmt: skip
        if is_replay_mark(value, headers) or _source_header(headers) != self.source:
            return False
        identity = letter_identity(key, headers)
        return (
            self._latest.get(identity) == (partition, offset) and self.ledger.state(identity) == "outstanding"
        )

    @property
    def outstanding(self) -> int:
        return self.ledger.outstanding[self.source]

    def summary(self) -> bytes | None:
        """The download's last line when letters of the file are not listed (replayed or superseded)."""
        replayed, superseded = self.ledger.replayed[self.source], self.ledger.superseded[self.source]
        if not replayed and not superseded:
            return None
        note = (
            f"{self.outstanding} outstanding dead letters listed; not listed: {replayed} replayed (indexed "
            f"again by `spoolbridge dlq replay`), {superseded} superseded (a newer version of the file "
            "settled since)"
        )
        figures = {"outstanding": self.outstanding, "replayed": replayed, "superseded": superseded}
        return orjson.dumps({**figures, "note": note}) + b"\n"


def _source_header(headers: list[tuple[str, bytes | None]]) -> str | None:
    value = next((v for k, v in headers if k == HEADER_SOURCE and v is not None), None)
    return value.decode("utf-8", "replace") if value is not None else None


def read_dead_letters(
    kafka: KafkaSettings,
    topic: str,
    source: str,
    source_field: str,
    latest_version: LatestVersion = no_history,
) -> Generator[bytes, None, None]:
    """One JSON line per outstanding dead letter of ``source`` in ``topic`` (:class:`FileLetters`): its
    reason headers and its record; then, if letters of the file were replayed or superseded, one line
    saying how many. The topic is read twice, from its start to the end offsets seen first: once for the
    ledger, once for the letters (a file's letters may be many: none is held in memory)."""
    consumer = _consumer(kafka)
    try:
        ends = _end_offsets(consumer, topic)
        selection = FileLetters(source, latest_version)
        for message in _read_to(consumer, topic, ends):
            headers = _with_source(message, source_field)
            selection.add(
                message.key(), message.value(), headers, message.partition() or 0, message.offset() or 0
            )
        for message in _read_to(consumer, topic, ends):
            headers = _with_source(message, source_field)
            if selection.lists(
                message.key(), message.value(), headers, message.partition() or 0, message.offset() or 0
            ):
                yield _letter(message)
        summary = selection.summary()
        if summary is not None:
            yield summary
    finally:
        consumer.close()


def _end_offsets(consumer: Any, topic: str) -> dict[int, int]:
    """The end offset of every partition of ``topic`` that holds messages ({} when there is no topic)."""
    from confluent_kafka import TopicPartition

    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return {}
    ends: dict[int, int] = {}
    for number in metadata.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)
        if high > low:
            ends[number] = high
    return ends


def _read_to(consumer: Any, topic: str, ends: dict[int, int]) -> Generator[Any, None, None]:
    """Every message of ``topic`` from its start up to ``ends`` (per partition), in partition order."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    remaining = dict(ends)
    consumer.assign([TopicPartition(topic, number, OFFSET_BEGINNING) for number in remaining])
    try:
        while remaining:
            messages = consumer.consume(num_messages=500, timeout=5)
            if not messages:
                break
            for message in messages:
                partition = message.partition() or 0
                if partition not in remaining:
                    continue
                if message.error() is None:
                    yield message
                if (message.offset() or 0) + 1 >= remaining[partition]:
                    remaining.pop(partition)
    finally:
        consumer.unassign()


def _letter(message: Any) -> bytes:
    headers = {
        name.removeprefix(HEADER_PREFIX): (value or b"").decode("utf-8", "replace")
        for name, value in message.headers() or []
        if name.startswith(HEADER_PREFIX)
    }
    try:
        record: Any = orjson.loads(message.value() or b"null")
    except orjson.JSONDecodeError:
        record = (message.value() or b"").decode("utf-8", "replace")
    key = (message.key() or b"").decode("utf-8", "replace")
    return orjson.dumps({"id": key, **headers, "record": record}) + b"\n"
