"""Publish messages OpenSearch will not take to the dead-letter topic — and say when Kafka has them.

The dead-letter message is the original (key, value, headers) plus the ``spoolbridge-dlq-*`` headers of
:class:`schemas.dlq.DeadLetterHeaders`. A message counts as dead-lettered only when the broker acknowledged
it (``acks=all``, idempotent producer): then, and only then, ``on_done`` runs and the consumer may commit
past the original. A delivery that fails is published again by :meth:`DeadLetterPublisher.retry_failed`
— never dropped — so a dead-letter topic that is unreachable holds the commit back instead of losing data.

Logging says it once: one line per batch and error type when letters are published (count, first id and
offset, reason), one line per round of failed deliveries — never one line per message.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from consumer.batch import KafkaMessage
from schemas.datasets import Dataset, Datasets
from schemas.dlq import DeadLetterHeaders
from schemas.errors import ServiceUnavailableError
from schemas.settings import KafkaSettings
from schemas.topics import create_topics

__all__ = [
    "DeadLetter",
    "DeadLetterPublisher",
    "Refused",
    "dead_letter_headers",
    "ensure_topic",
    "log_refused",
]

log = logging.getLogger(__name__)

_MAX_ID_CHARS = 200


@dataclass(frozen=True, slots=True)
class Refused:
    """A message that goes to the dead-letter topic, and why (``status``: OpenSearch's, if it answered)."""

    message: KafkaMessage
    error_type: str
    reason: str
    status: int | None = None


def log_refused(refused: Sequence[Refused], index: str) -> None:
    """One WARNING line per error type among ``refused`` (one batch): count, first id and offset, reason."""
    by_type: dict[str, list[Refused]] = defaultdict(list)
    for item in refused:
        by_type[item.error_type].append(item)
    for error_type, items in by_type.items():
        first = items[0]
        message = first.message
        log.warning(
            "dead-lettering docs=%d index=%s error_type=%s status=%s first_id=%s first=%s/%s@%s reason=%s",
            len(items), index, error_type, first.status, _id_of(message), message.topic(),
            message.partition(), message.offset(), first.reason,
        )  # fmt: skip


def _id_of(message: KafkaMessage) -> str:
    key = message.key()
    if not key:
        return "-"
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
    return text if len(text) <= _MAX_ID_CHARS else text[: _MAX_ID_CHARS - 1] + "…"


@dataclass(slots=True)
class DeadLetter:
    """One message on its way to the dead-letter topic, and what to call once the broker has it."""

    message: KafkaMessage
    error_type: str
    reason: str
    status: int | None
    on_done: Callable[[], None]
    topic: str  # the dead-letter topic of the message's dataset
    index: str  # the index it was meant for
    attempts: int = field(default=0)


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, str | bytes | None]]:
    """The original headers followed by the ``spoolbridge-dlq-*`` ones."""
    message = letter.message
    extra = DeadLetterHeaders.model_validate(
        {
            "error_type": letter.error_type,
            "reason": letter.reason,
            "status": letter.status,
            "topic": message.topic() or "",
            "partition": message.partition() or 0,
            "offset": message.offset() or 0,
            "index": letter.index,
            "failed_at": datetime.now(UTC),
        }
    ).to_kafka_headers()
    original = message.headers() or []
    if isinstance(original, dict):
        original = list(original.items())
    return [*original, *extra]


class DeadLetterPublisher:
    """An idempotent producer for the datasets' dead-letter topics. Not thread-safe: use from the loop.

    Each dead-letter topic is created (if missing) before its first letter; the default dataset's is
    created at start by the consumer service.
    """

    def __init__(
        self, kafka: KafkaSettings, datasets: Datasets, *, logger: logging.Logger | None = None
    ) -> None:
        self.kafka = kafka
        self.datasets = datasets
        self._topics_ready: set[str] = {kafka.dead_letter_topic}
        self.published = 0
        #: called with each letter the broker acknowledged (the consumer's metrics count them by reason)
        self.on_published: Callable[[DeadLetter], None] = lambda letter: None
        self._failed: list[DeadLetter] = []
        self._last_error: object = None
        self._retry_at = 0.0
        self._retry_delay_secs = 1.0
        config: dict[str, Any] = {
            **kafka.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "logger": logger or logging.getLogger("consumer.dlq.librdkafka"),
        }
        self._producer = Producer(config)

    def publish_all(self, refused: Sequence[Refused], on_done: Callable[[KafkaMessage], None]) -> None:
        """Publish every refused message (logged once, by :func:`log_refused`); ``on_done(message)`` runs
        from :meth:`poll` once the broker has its copy."""
        if not refused:
            return
        dataset = self._dataset(refused[0].message.topic())  # refused together: one request, one topic
        log_refused(refused, dataset.index)
        for item in refused:
            message = item.message
            if message.topic() != dataset.topic:
                dataset = self._dataset(message.topic())
            done = partial(on_done, message)
            letter = DeadLetter(
                message,
                item.error_type,
                item.reason,
                item.status,
                done,
                dataset.dead_letter_topic,
                dataset.index,
            )
            self.publish(letter)

    def _dataset(self, topic: str | None) -> Dataset:
        return self.datasets.of_topic(topic or "") or self.datasets.get(None)

    def publish(self, letter: DeadLetter) -> None:
        """Hand ``letter`` to the producer; ``letter.on_done`` runs from :meth:`poll` once it is acked."""
        letter.attempts += 1
        message = letter.message
        if letter.topic not in self._topics_ready:
            ensure_topic(self.kafka, letter.topic)
            self._topics_ready.add(letter.topic)

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            if err is None:
                self.published += 1
                self.on_published(letter)
                letter.on_done()
                return
            self._last_error = err  # logged once per round by retry_failed
            self._failed.append(letter)

        while True:
            try:
                self._producer.produce(
                    letter.topic,
                    key=message.key(),
                    value=message.value(),
                    headers=dead_letter_headers(letter),
                    on_delivery=delivered,
                )
                return
            except BufferError:  # local queue full: serve delivery reports to make room, never drop
                self._producer.poll(0.1)
            except KafkaException as exc:  # refused locally (e.g. too large): keep it, try again later
                delivered(exc.args[0] if exc.args else KafkaError(KafkaError._FAIL), None)
                return

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports (runs ``on_done`` callbacks)."""
        self._producer.poll(timeout)

    def retry_failed(self, now: float) -> int:
        """Publish again every letter whose delivery failed, at most every few seconds (the wait doubles
        up to 30 s while deliveries keep failing); returns how many were handed to the producer."""
        if not self._failed:
            self._retry_delay_secs = 1.0
            return 0
        if now < self._retry_at:
            return 0
        self._retry_at = now + self._retry_delay_secs
        self._retry_delay_secs = min(30.0, self._retry_delay_secs * 2)
        failed, self._failed = self._failed, []
        first = failed[0].message
        log.error(
            "dead-letter deliveries failed count=%d topic=%s first=%s/%s@%s error=%s; publishing them again "
            "(check that the topic exists and this client may write to it)",
            len(failed), failed[0].topic, first.topic(), first.partition(), first.offset(), self._last_error,
        )  # fmt: skip
        for letter in failed:
            self.publish(letter)
        return len(failed)

    def pending(self) -> int:
        """Letters not yet acknowledged (queued, in flight, or waiting to be published again)."""
        return len(self._producer) + len(self._failed)

    def flush(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for acknowledgements; returns how many are still pending."""
        self._producer.flush(timeout)
        return self.pending()


def ensure_topic(kafka: KafkaSettings, topic: str, *, timeout_secs: float = 30.0) -> None:
    """Create ``topic`` with the configured partitions and replication; "already exists" is fine.

    Other failures (e.g. not authorized to create topics) are logged, not raised: the topic may exist
    anyway, and if it does not, dead-letter deliveries fail visibly and hold back the commit.
    """
    config: dict[str, Any] = {**kafka.client_config(), "logger": logging.getLogger("consumer.dlq.librdkafka")}
    try:
        outcome = create_topics(AdminClient(config), kafka, [topic], timeout_secs)[topic]
    except TimeoutError:  # concurrent.futures: no broker answered at all
        raise ServiceUnavailableError(
            f"Kafka at {kafka.bootstrap_servers} did not answer within {timeout_secs:.0f} s; check "
            "kafka.bootstrap_servers and kafka.security_protocol (`spoolbridge check` tries each step)"
        ) from None
    if isinstance(outcome, KafkaError):
        log.warning("could not create topic topic=%s error=%s", topic, outcome)
