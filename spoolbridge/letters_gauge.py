"""``spoolbridge_dead_letters_outstanding{dataset=...}``: the outstanding dead letters of every dataset, in
the producer's ``/metrics``.

The same ledger as ``dlq list``, ``status`` and the page (:class:`schemas.letter_ledger.OutstandingLetters`,
measured against the inbox's version history, :class:`spoolbridge.letter_versions.LatestVersions`): the
producer is the one service that always has the inbox, so its figure agrees with theirs. One background
consumer (never committing, a group of its own) reads every dataset's dead-letter topic from its start
and keeps up with new letters; a dataset whose dead-letter topic appears later is found at the next
metadata refresh (5 s). The gauge is computed when scraped. Memory: one small entry per dead-lettered
document id.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from schemas.datasets import Datasets
from schemas.letter_ledger import OutstandingLetters
from schemas.names import dataset_name_problem
from schemas.settings import Settings

from .letter_versions import LatestVersions

__all__ = ["OutstandingGauge", "dataset_of_dead_letter_topic", "dead_letter_subscription"]

log = logging.getLogger(__name__)

NAME = "spoolbridge_dead_letters_outstanding"


def dead_letter_subscription(datasets: Datasets) -> list[str]:
    """The default dataset's dead-letter topic and a pattern of every dataset's (librdkafka: ``^``)."""
    escaped = datasets.base_topic.replace(".", "\\.")  # topic names hold only [a-zA-Z0-9._-]
    return [datasets.get(None).dead_letter_topic, f"^{escaped}\\.[a-z0-9][a-z0-9_-]*\\.dlq$"]


def dataset_of_dead_letter_topic(datasets: Datasets, topic: str) -> str | None:
    """The label of the dataset whose dead letters ``topic`` holds (``None``: not a dataset's)."""
    default = datasets.get(None)
    if topic == default.dead_letter_topic:
        return default.label
    prefix = f"{datasets.base_topic}."
    if topic.startswith(prefix) and topic.endswith(".dlq"):
        name = topic[len(prefix) : -len(".dlq")]
        if dataset_name_problem(name) is None:
            return datasets.get(name).label
    return None


class OutstandingGauge(Collector):
    """Registered on ``registry`` while running (:meth:`start` … :meth:`stop`)."""

    def __init__(self, settings: Settings, registry: CollectorRegistry = REGISTRY) -> None:
        self._settings = settings
        self._datasets = Datasets(settings)
        self._registry = registry
        self._versions = LatestVersions(settings.producer.inbox.absolute())
        self._ledgers: dict[str, OutstandingLetters] = {}  # dataset label → its ledger
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dead-letters-outstanding", daemon=True)

    def start(self) -> None:
        self._registry.register(self)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._registry.unregister(self)

    def outstanding(self) -> dict[str, int]:
        """Per dataset label: its outstanding dead letters now."""
        with self._lock:
            return {label: sum(ledger.outstanding.values()) for label, ledger in self._ledgers.items()}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            NAME,
            "Documents whose latest dead letter is neither replayed nor superseded by a newer version of "
            "their file (as `spoolbridge dlq list` counts them)",
            labels=["dataset"],
        )
        for label, count in sorted(self.outstanding().items()):
            family.add_metric([label], count)
        yield family

    def _add(self, message: Any) -> None:
        label = dataset_of_dead_letter_topic(self._datasets, message.topic() or "")
        if label is None:
            return
        with self._lock:
            ledger = self._ledgers.get(label)
            if ledger is None:
                ledger = self._ledgers[label] = OutstandingLetters(self._versions)
            ledger.add(message.key(), message.value(), list(message.headers() or []), message.offset() or 0)

    def _run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer(
            {
                **self._settings.kafka.client_config(),
                "group.id": f"spoolbridge-outstanding-{uuid.uuid4().hex}",  # never committed: only to read
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "topic.metadata.refresh.interval.ms": 5000,
                "logger": log,
            }
        )
        try:
            consumer.subscribe(dead_letter_subscription(self._datasets))
            while not self._stop.is_set():
                for message in consumer.consume(num_messages=500, timeout=0.5):
                    if message.error() is None:
                        self._add(message)
        except Exception:  # a metric that cannot be read must not stop the producer
            log.exception("event=dead_letters_outstanding_failed")
        finally:
            consumer.close()
