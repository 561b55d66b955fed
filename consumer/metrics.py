"""The consumer's Prometheus metrics (``spoolbridge_consumer_*``) and the bookkeeping the loop calls.

Every metric carries the message's ``dataset`` (:attr:`schemas.datasets.Dataset.label`, from its topic).
What each one counts:

=========================================================  ===============================================
``spoolbridge_consumer_messages_fetched_total``            messages taken from Kafka by this member
``spoolbridge_consumer_documents_indexed_total``           documents OpenSearch acknowledged (index)
``spoolbridge_consumer_documents_deleted_total``           tombstones acknowledged (delete, or 404)
``spoolbridge_consumer_dead_letters_total{reason}``        messages the dead-letter topic acknowledged, by
                                                           :func:`reason_class`
``spoolbridge_consumer_retries_total{kind}``               documents sent again: ``index`` (a condition
                                                           of the index), ``transient``, ``mapping`` (race)
``spoolbridge_consumer_bulk_request_seconds``              ``_bulk`` call duration (a histogram)
``spoolbridge_consumer_bulk_request_bytes``                ``_bulk`` body size (a histogram)
``spoolbridge_consumer_bulk_requests_in_flight``           requests sent and not yet answered
``spoolbridge_consumer_paused_partitions``                 partitions paused (backing off, or full)
``spoolbridge_consumer_lag_messages{topic,partition}``     messages after the committed offset, per owned
                                                           partition (every ``progress_interval_secs``)
``spoolbridge_consumer_last_commit_timestamp_seconds``     Unix time of the last successful commit
``spoolbridge_consumer_records_expired_total``             records Kafka's retention removed before this
                                                           group read them (:mod:`consumer.expiry`)
=========================================================  ===============================================

:class:`ConsumerMeter` keeps the loop's :class:`~consumer.progress.Counters` (its progress line) and these
together, so the runner makes one call per event: per fetch, request, answer and commit — never per
document. Updated from the loop's thread (dead letters from its ``poll``); prometheus-client makes reading
them from the HTTP thread safe.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from functools import cache

from confluent_kafka import Consumer
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from consumer.batch import KafkaMessage
from consumer.bulk import BulkRequest
from consumer.dlq import DeadLetter, DeadLetterPublisher
from consumer.expiry import ExpiryWatch, log_expired
from consumer.offsets import TopicPartitionKey
from consumer.progress import Counters, LagMeter
from consumer.send import BulkResponse
from schemas.datasets import Datasets
from schemas.health import Heartbeat

__all__ = ["ConsumerMeter", "ConsumerMetrics", "consumer_metrics", "reason_class"]

#: Seconds: a small request on an idle node takes milliseconds; a 5 MB one under load seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Bytes: from one small document up to ``consumer.max_bytes`` (5 MB by default) and a little over.
SIZE_BUCKETS = (1e3, 1e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 2.5e7)
_INVALID_MESSAGE = frozenset({"missing_key", "invalid_key", "invalid_json", "not_an_object"})


def reason_class(error_type: str, status: int | None) -> str:
    """A dead letter's reason, in a few classes fit for a label (error types are many; classes are not):
    ``invalid_message`` (no key, not JSON, not an object), ``retries_exhausted`` (``consumer.max_retries``),
    ``mapping`` (the document does not fit the index's mapping), ``too_large`` (413), ``other``."""
    if error_type in _INVALID_MESSAGE:
        return "invalid_message"
    if error_type == "retries_exhausted":
        return "retries_exhausted"
    if "mapp" in error_type or "parsing" in error_type or error_type == "illegal_argument_exception":
        return "mapping"
    if status == 413:
        return "too_large"
    return "other"


class ConsumerMetrics:
    """The consumer's metric objects (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        def counter(name: str, text: str, *labels: str) -> Counter:
            return Counter(f"spoolbridge_consumer_{name}", text, ["dataset", *labels], registry=registry)

        def gauge(name: str, text: str, *labels: str) -> Gauge:
            return Gauge(f"spoolbridge_consumer_{name}", text, ["dataset", *labels], registry=registry)

        def histogram(name: str, text: str, buckets: Sequence[float]) -> Histogram:
            name = f"spoolbridge_consumer_{name}"
            return Histogram(name, text, ["dataset"], buckets=buckets, registry=registry)

        self.fetched = counter("messages_fetched", "Messages taken from Kafka")
        self.indexed = counter("documents_indexed", "Documents OpenSearch acknowledged")
        self.deleted = counter("documents_deleted", "Deletes (tombstones) OpenSearch acknowledged")
        self.dead_letters = counter("dead_letters", "Messages in the dead-letter topic, by reason", "reason")
        self.retries = counter("retries", "Documents sent again, by kind of failure", "kind")
        self.request_seconds = histogram("bulk_request_seconds", "_bulk call duration", LATENCY_BUCKETS)
        self.request_bytes = histogram("bulk_request_bytes", "_bulk body size", SIZE_BUCKETS)
        self.in_flight = gauge("bulk_requests_in_flight", "_bulk requests sent and not yet answered")
        self.paused = gauge("paused_partitions", "Partitions paused (backing off, or holding enough)")
        self.lag = gauge("lag_messages", "Messages after the committed offset", "topic", "partition")
        self.last_commit = gauge("last_commit_timestamp_seconds", "Unix time of the last commit")
        self.expired = counter("records_expired", "Records Kafka's retention removed before they were read")


@cache
def consumer_metrics() -> ConsumerMetrics:
    """The process's consumer metrics, on the default registry (created on first use)."""
    return ConsumerMetrics()


class ConsumerMeter:
    """The loop's counters and metrics, fed by one call per event (see the module docstring)."""

    def __init__(
        self,
        datasets: Datasets,
        consumer: Consumer,
        metrics: ConsumerMetrics | None = None,
        *,
        heartbeat: Heartbeat | None = None,
        dlq: DeadLetterPublisher | None = None,
    ) -> None:
        self.counters = Counters()
        self._lag = LagMeter(consumer)
        self.expiry = ExpiryWatch(consumer, self._expired)  # fed each accepted message by the loop
        self.metrics = metrics or consumer_metrics()
        self.heartbeat = heartbeat or Heartbeat()  # beaten by the loop, read by /healthz
        if dlq is not None:
            dlq.on_published = self.dead_lettered
        self._datasets = datasets
        self._labels: dict[str, str] = {}
        self._paused: set[str] = set()
        self._lagging: set[TopicPartitionKey] = set()

    def label(self, topic: str | None) -> str:
        """The ``dataset`` label of a topic's messages."""
        topic = topic or ""
        found = self._labels.get(topic)
        if found is None:
            dataset = self._datasets.of_topic(topic) or self._datasets.get(None)
            found = self._labels[topic] = dataset.label
            self.metrics.paused.labels(found)  # shown as 0 from the dataset's first message on
        return found

    def fetched(self, messages: Iterable[KafkaMessage], accepted: int) -> None:
        """``accepted`` of ``messages`` (one fetch) are now the loop's."""
        self.counters.fetched += accepted
        for topic, count in Tally(m.topic() for m in messages if m.error() is None).items():
            self.metrics.fetched.labels(self.label(topic)).inc(count)

    def sent(self, request: BulkRequest) -> None:
        """``request`` (one topic's documents) went out."""
        self.counters.requests += 1
        dataset = self.label(request.messages[0].topic())
        self.metrics.in_flight.labels(dataset).inc()
        self.metrics.request_bytes.labels(dataset).observe(sum(map(len, request.lines)))

    def answered(self, request: BulkRequest, response: BulkResponse) -> None:
        """``request`` came back (or failed as a whole)."""
        dataset = self.label(request.messages[0].topic())
        self.metrics.in_flight.labels(dataset).dec()
        self.metrics.request_seconds.labels(dataset).observe(response.took_secs)

    def done(self, request: BulkRequest, done: Iterable[tuple[KafkaMessage, str]]) -> None:
        """Documents of ``request`` that OpenSearch has, with their action (``index`` / ``delete``)."""
        tally = Tally(action for _, action in done)
        deleted, indexed = tally.pop("delete", 0), sum(tally.values())
        self.counters.indexed += indexed
        self.counters.deleted += deleted
        dataset = self.label(request.messages[0].topic())
        if indexed:
            self.metrics.indexed.labels(dataset).inc(indexed)
        if deleted:
            self.metrics.deleted.labels(dataset).inc(deleted)

    def retried(self, request: BulkRequest, kind: str) -> None:
        """``request`` is to be sent again, for a failure of ``kind``."""
        self.counters.retried += len(request)
        self.metrics.retries.labels(self.label(request.messages[0].topic()), kind).inc(len(request))

    def dead_lettered(self, letter: DeadLetter) -> None:
        """The dead-letter topic acknowledged ``letter`` (the hook of the dead-letter publisher)."""
        reason = reason_class(letter.error_type, letter.status)
        self.metrics.dead_letters.labels(self.label(letter.message.topic()), reason).inc()

    def paused(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """The partitions paused now (all of them)."""
        tally = Tally(self.label(topic) for topic, _ in partitions)
        for dataset in self._paused - tally.keys():
            self.metrics.paused.labels(dataset).set(0)
        for dataset, count in tally.items():
            self.metrics.paused.labels(dataset).set(count)
        self._paused |= tally.keys()

    def lag(
        self, partitions: Iterable[TopicPartitionKey], committed: Callable[[TopicPartitionKey], int | None]
    ) -> int | None:
        """Measure the lag of every owned partition (:class:`~consumer.progress.LagMeter`) and return the
        sum, for the progress line (None: unknown just now; the last values stay)."""
        lags = self._lag.lags(partitions, committed)
        if lags is None:
            return None
        self._unlabel(self._lagging - lags.keys())
        for (topic, partition), lag in lags.items():
            self.metrics.lag.labels(self.label(topic), topic, str(partition)).set(lag)
        self._lagging |= lags.keys()
        return sum(lags.values())

    def unread(
        self, partitions: Iterable[TopicPartitionKey], position: Callable[[TopicPartitionKey], int | None]
    ) -> int | None:
        """Records past ``position`` on the partitions, summed (the gauges are left as the progress line
        set them; None: unknown just now)."""
        lags = self._lag.lags(partitions, position)
        return None if lags is None else sum(lags.values())

    def _expired(self, tp: TopicPartitionKey, first: int, end: int) -> None:
        dataset = self.label(tp[0])
        log_expired(dataset, tp, first, end)
        self.metrics.expired.labels(dataset).inc(end - first)

    def forget(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """Partitions this member no longer owns: their lag is another member's to report."""
        partitions = list(partitions)
        self._lag.forget(partitions)
        self.expiry.forget(partitions)
        self._unlabel(partitions)

    def _unlabel(self, partitions: Iterable[TopicPartitionKey]) -> None:
        for topic, partition in partitions:
            if (topic, partition) in self._lagging:
                self._lagging.discard((topic, partition))
                self.metrics.lag.remove(self.label(topic), topic, str(partition))

    def committed(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """A commit of ``partitions`` succeeded (an asynchronous one: was accepted for sending)."""
        now = time.time()
        for dataset in {self.label(topic) for topic, _ in partitions}:
            self.metrics.last_commit.labels(dataset).set(now)
