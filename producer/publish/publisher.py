"""Kafka side of the producer: topics created up front, records produced, deliveries counted per file.

Guarantees: the producer is idempotent with ``acks=all``, so a record counted as acked is in every in-sync
replica exactly once per send. :meth:`Publisher.finish` returns only when every record sent for a file has
its delivery outcome (``flush()`` down to an empty queue) — the caller moves the file only after that.
Files are produced one at a time, so each outcome belongs to the current file. Every delivery is
reported to Python: a success only gives its partition and offset to the file's
:class:`~schemas.offset_ranges.OffsetSpan` (the first and last offset per partition: what the file's
report records, so ``status`` can name the files whose records expired from Kafka), in one short call
(``_on_delivery``: about 0.6 µs a record, some 7% of a small record's path; an offsets request per file
instead would cost a round trip per file, more for a folder of small files). After a complete flush
every record that did not fail was acknowledged, so ``acked = sent - failed``. ``BufferError`` (local
queue full) is handled by serving delivery reports and trying again, never by dropping. librdkafka's own
log lines go to the ``producer.kafka`` logger instead of stderr (through :class:`KafkaLog`).

Between files a background thread serves the producer's callbacks, so losing Kafka and getting it back
are logged when they happen — once each (:class:`KafkaConnection`) — not when the next file arrives.

Failed deliveries are split: *permanent* ones (the broker refuses this record, e.g. too large) become
record rejections; *transient* ones (timeouts, brokers down) mean the file must be processed again later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType

from producer.publish.kafka_events import STATISTICS_INTERVAL_MS, KafkaConnection, KafkaLog
from schemas.errors import ServiceUnavailableError, SpoolbridgeError
from schemas.health import Heartbeat
from schemas.message import HEADER_POSITION, Headers
from schemas.offset_ranges import OffsetSpan
from schemas.settings import KafkaSettings, ProducerSettings
from schemas.topics import create_topics

__all__ = ["DeliveryFailure", "FileDeliveries", "Publisher", "ensure_topics", "is_record_error"]

log = logging.getLogger("producer.publisher")  # the name it had before the move: logs are filtered by it
kafka_log = logging.getLogger("producer.kafka")

#: Local send queue bound: keeps memory flat whatever the file size.
QUEUE_MAX_KBYTES = 64 * 1024
#: How long librdkafka keeps retrying one record before reporting it as failed (then the file is retried).
DELIVERY_TIMEOUT_MS = 300_000
#: Bytes a record batch adds around one record (batch header, record framing, header names): a margin.
RECORD_OVERHEAD_BYTES = 512
#: How often the producer's callbacks are served between files.
IDLE_POLL_SECS = 0.25

_PERMANENT = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_RECORD,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_MSG,
    }
)


def is_record_error(err: KafkaError) -> bool:
    """True when Kafka refuses this one record (it is rejected); anything else is about the producer."""
    return err.code() in _PERMANENT and not err.fatal()


@dataclass(slots=True)
class DeliveryFailure:
    key: str
    position: str
    value: bytes | None
    error: str
    permanent: bool


@dataclass(slots=True)
class FileDeliveries:
    """Delivery outcomes of one file's records; ``acked`` is final once :meth:`Publisher.finish` returned."""

    sent: int = 0
    acked: int = 0
    failures: list[DeliveryFailure] = field(default_factory=list)
    sent_bytes: int = 0  # message values handed to the client (what progress displays measure)
    ack_wait_secs: float = 0.0  # how long :meth:`Publisher.finish` waited for the last acknowledgements
    offsets: OffsetSpan = field(default_factory=OffsetSpan)  # where the acknowledged records are

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            return
        key = msg.key()
        headers = msg.headers() or []
        pairs = headers.items() if isinstance(headers, dict) else headers
        position = next((v for name, v in pairs if name == HEADER_POSITION), b"")
        self.failures.append(
            DeliveryFailure(
                key=_text(key),
                position=_text(position),
                value=msg.value(),
                error=f"{err.name()}: {err.str()}",
                permanent=is_record_error(err),
            )
        )


def _text(value: str | bytes | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _admin(kafka: KafkaSettings) -> AdminClient:
    config: dict[str, Any] = {**kafka.client_config(), "logger": KafkaLog(kafka_log)}
    return AdminClient(config)


def ensure_topics(kafka: KafkaSettings, topics: tuple[str, ...], timeout_secs: float | None = None) -> int:
    """Create ``topics`` (a dataset's topic and its dead-letter topic) where missing ("already exists" is
    fine); return the first one's ``max.message.bytes``. Raises :class:`ServiceUnavailableError` when Kafka
    cannot be reached or refuses.
    """
    timeout = timeout_secs if timeout_secs is not None else kafka.request_timeout_ms / 1000
    admin = _admin(kafka)
    try:
        for outcome in create_topics(admin, kafka, topics, timeout).values():
            if isinstance(outcome, KafkaError):
                raise _unavailable(kafka, outcome)
        entries = _describe_topic(admin, topics[0], timeout)
    except KafkaException as exc:
        raise _unavailable(kafka, exc.args[0]) from exc
    except TimeoutError as exc:  # concurrent.futures timeout
        raise ServiceUnavailableError(
            f"Kafka at {kafka.bootstrap_servers} did not answer within {timeout:g} s; "
            "check kafka.bootstrap_servers and the network"
        ) from exc
    entry = entries.get("max.message.bytes")
    return int(entry.value) if entry is not None and entry.value else 1_048_588


def _describe_topic(admin: AdminClient, topic: str, timeout: float) -> dict[str, Any]:
    """The topic's configuration. A topic created a moment ago may not be known to every part of the
    broker yet (UNKNOWN_TOPIC_OR_PART): that answer is retried for a few seconds, not reported."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    deadline = time.monotonic() + min(timeout, 10.0)
    while True:
        try:
            entries: dict[str, Any] = admin.describe_configs([resource], request_timeout=timeout)[
                resource
            ].result(timeout=timeout)
            return entries
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _unavailable(kafka: KafkaSettings, err: Any) -> ServiceUnavailableError:
    text = err.str() if isinstance(err, KafkaError) else str(err)
    return ServiceUnavailableError(
        f"Kafka at {kafka.bootstrap_servers} refused or failed: {text}; check kafka.bootstrap_servers, "
        "the security settings, and that this user may create and describe topics"
    )


class Publisher:
    """Sends records to the datasets' topics. No network I/O in ``__init__``; :meth:`start` connects.

    Each dataset's topics are created the first time one of its files is produced (:meth:`prepare`).
    The client's ``message.max.bytes`` follows the default topic's limit (a record batch must fit the
    topic), so a dataset topic's records are bounded by the smaller of the two.
    """

    def __init__(
        self, kafka: KafkaSettings, settings: ProducerSettings, heartbeat: Heartbeat | None = None
    ) -> None:
        self.kafka = kafka
        self.settings = settings
        # beaten while waiting for Kafka (queue full, acknowledgements): waiting is not being stuck
        self.heartbeat = heartbeat or Heartbeat()
        self.max_record_bytes = settings.max_message_bytes
        self._record_limits: dict[str, int] = {}
        self._producer: Producer | None = None
        self._fatal: KafkaError | None = None
        self._current = FileDeliveries()
        self.connection = KafkaConnection(kafka.bootstrap_servers or "")
        # Delivery reports must be served only by the thread producing a file: the idle server polls
        # only while no file is in progress (``_idle``, under ``_idle_lock``).
        self._idle = True
        self._idle_lock = threading.Lock()
        self._closing = threading.Event()
        self._idle_server: threading.Thread | None = None

    def start(self) -> None:
        """Create the default dataset's topics, learn their size limit, and create the producer."""
        self.max_record_bytes = self.prepare(self.kafka.topic, self.kafka.dead_letter_topic)
        message_max = max(self.max_record_bytes + RECORD_OVERHEAD_BYTES, 2048)
        config: dict[str, Any] = {
            **self.kafka.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.settings.compression,
            "linger.ms": self.settings.linger_ms,
            "message.max.bytes": message_max,
            "batch.size": min(self.settings.batch_size_bytes, message_max),
            "queue.buffering.max.kbytes": QUEUE_MAX_KBYTES,
            "message.timeout.ms": DELIVERY_TIMEOUT_MS,
            "on_delivery": self._on_delivery,
            "logger": KafkaLog(kafka_log),
            "error_cb": self._on_error,
            "stats_cb": self.connection.on_stats,
            "statistics.interval.ms": STATISTICS_INTERVAL_MS,
        }
        self._producer = Producer(config)
        self._idle_server = threading.Thread(target=self._serve_while_idle, name="kafka-idle", daemon=True)
        self._idle_server.start()
        log.info(
            "topic=%s event=producer_ready max_record_bytes=%d compression=%s linger_ms=%d",
            self.kafka.topic,
            self.max_record_bytes,
            self.settings.compression,
            self.settings.linger_ms,
        )

    def prepare(self, topic: str, dead_letter_topic: str) -> int:
        """Make sure a dataset's topic and dead-letter topic exist (once per process); return the largest
        record (key + value bytes) the topic takes. Raises :class:`ServiceUnavailableError`."""
        limit = self._record_limits.get(topic)
        if limit is None:
            topic_limit = ensure_topics(self.kafka, (topic, dead_letter_topic))
            limit = min(self.settings.max_message_bytes, topic_limit) - RECORD_OVERHEAD_BYTES
            if self._producer is not None:
                limit = min(limit, self.max_record_bytes)
            self._record_limits[topic] = limit
        return limit

    def begin_file(self) -> FileDeliveries:
        """Start counting a new file's deliveries (the previous file must be finished)."""
        with self._idle_lock:
            self._idle = False
        self._current = FileDeliveries()
        return self._current

    @property
    def current(self) -> FileDeliveries:
        """The deliveries of the file in progress (or of the last one)."""
        return self._current

    def _serve_while_idle(self) -> None:
        """Between files nothing else polls the producer: serve its error, log and statistics callbacks
        every ``IDLE_POLL_SECS``, so an outage is logged when it happens. No file is in flight then, so
        no delivery report can be served here."""
        while not self._closing.wait(IDLE_POLL_SECS):
            with self._idle_lock:
                if self._idle and self._producer is not None:
                    self._producer.poll(0)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """Every message's delivery report: kept to one call for an acknowledged one (its place only)."""
        if err is not None:
            self._current.on_delivery(err, msg)
            return
        partition, offset, span = msg.partition(), msg.offset(), self._current.offsets
        if partition is None or offset is None:  # not placed (never for an acknowledged message)
            return
        if offset > span.last.get(partition, -1):
            span.last[partition] = offset
        if partition not in span.first:  # a partition's reports come in offset order (idempotence)
            span.first[partition] = offset

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
            log.error("event=kafka_fatal error=%s", err.str())
        else:
            self.connection.on_error(err)

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("Publisher.start() was not called")
        return self._producer

    def check(self) -> None:
        """Raise if the producer hit a fatal error (it cannot be used any more)."""
        if self._fatal is not None:
            raise SpoolbridgeError(f"the Kafka producer failed and must be restarted: {self._fatal.str()}")

    def send(self, topic: str, key: str, value: bytes | None, headers: Headers) -> None:
        """Queue one record of the current file (``value`` None: a tombstone, which deletes the document);
        waits (serving delivery reports) while the queue is full.

        Raises :class:`KafkaException` when librdkafka refuses the record outright (e.g. too large).
        """
        producer = self.producer
        while True:
            try:
                producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
                self.check()
                self.heartbeat.beat()
        current = self._current
        current.sent += 1
        current.sent_bytes += len(value) if value is not None else 0

    def poll(self) -> None:
        self.producer.poll(0)

    def finish(self) -> FileDeliveries:
        """Return the current file's outcomes once every record sent has been acked or has failed."""
        producer = self.producer
        started = waiting_since = time.monotonic()
        while (pending := producer.flush(1.0)) > 0:
            self.check()
            self.heartbeat.beat()
            waited = time.monotonic() - started
            if waited > 10:
                log.warning("event=waiting_for_acks pending=%d waited_secs=%.0f", pending, waited)
                started = time.monotonic()
        deliveries = self._current
        deliveries.acked = deliveries.sent - len(deliveries.failures)
        deliveries.ack_wait_secs = time.monotonic() - waiting_since
        with self._idle_lock:
            self._idle = True
        return deliveries

    def close(self) -> None:
        self._closing.set()
        if self._idle_server is not None:
            self._idle_server.join()
            self._idle_server = None
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
