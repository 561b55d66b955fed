"""Dead letters of one dataset, by source file: a background reader per dead-letter topic, so the page
can show live counts without reading the topic from its start on every tick.

Counts follow ``spoolbridge status``: outstanding letters only, one per document (a replay settles them,
a newer settled version of their file supersedes them: :mod:`schemas.letter_ledger`); a dead letter
belongs to the file its ``spoolbridge-source`` header names (else its value's source field).
:func:`read_dead_letters` reads a topic from its start to its end once, for the download of one file's
dead letters.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Generator
from typing import Any

import orjson

from schemas.dlq import HEADER_PREFIX
from schemas.letter_ledger import LatestVersion, OutstandingLetters, is_replay_mark, no_history
from schemas.message import HEADER_SOURCE
from schemas.settings import KafkaSettings

__all__ = ["DeadLetterTail", "read_dead_letters", "source_of"]

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


def read_dead_letters(
    kafka: KafkaSettings, topic: str, source: str, source_field: str
) -> Generator[bytes, None, None]:
    """One JSON line per dead letter of ``source`` in ``topic``: its reason headers and its record."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    consumer = _consumer(kafka)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return
        ends: dict[int, int] = {}
        assignment = []
        for number in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)
            if high > low:
                ends[number] = high
                assignment.append(TopicPartition(topic, number, OFFSET_BEGINNING))
        consumer.assign(assignment)
        while ends:
            messages = consumer.consume(num_messages=500, timeout=5)
            if not messages:
                break
            for message in messages:
                partition = message.partition() or 0
                if (
                    message.error() is None
                    and not is_replay_mark(message.value(), message.headers() or [])
                    and source_of(message, source_field) == source
                ):
                    yield _letter(message)
                if (message.offset() or 0) + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
    finally:
        consumer.close()


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
