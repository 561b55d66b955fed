"""The producer's Prometheus metrics (``spoolbridge_producer_*``) and the bookkeeping that feeds them.

Every metric carries the file's ``dataset`` (:attr:`schemas.datasets.Dataset.label`: the folder name, or
``(default)``; a folder that cannot name a dataset counts as ``(invalid)``). What each one counts:

=====================================================  ===================================================
``spoolbridge_producer_files_total{outcome}``          files settled or left in the inbox: ``done``,
                                                       ``failed``, ``retry``, ``interrupted``, ``changed``,
                                                       ``unreadable``, ``gone``
``spoolbridge_producer_records_read_total``            records taken from files (produced or rejected);
                                                       while a file is read, every 1,000 records
``spoolbridge_producer_bytes_read_total``              bytes of the files read (as stored: ``.gz``
                                                       compressed), when each file is settled
``spoolbridge_producer_records_produced_total``        records Kafka acknowledged
``spoolbridge_producer_records_rejected_total``        records written to a ``.rejected.jsonl`` report
``spoolbridge_producer_records_superseded_total``      records produced and then overwritten by a later
                                                       record of the same file with the same id (the
                                                       last one wins: one document for them)
``spoolbridge_producer_produce_errors_total{kind}``    deliveries that failed: ``refused`` (Kafka refuses
                                                       the record: it is rejected), ``not_acknowledged``
                                                       (timeouts, brokers down: the file is retried)
``spoolbridge_producer_delivery_latency_seconds``      per file, from its last record handed to the Kafka
                                                       client to every record acknowledged (a histogram)
``spoolbridge_producer_inbox_files``                   files waiting in the inbox (not yet ready, or
                                                       ready and queued)
=====================================================  ===================================================

The objects live on prometheus-client's default registry (with its process and Python collectors) unless
another registry is given (tests). Updated from the service loop only; prometheus-client makes reading
them from the HTTP thread safe.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from producer.inbox.readiness import relative_source
from producer.pipeline import FileResult
from schemas.datasets import DatasetNameError, Datasets

__all__ = ["INVALID_DATASET", "FileMeter", "ProducerMetrics", "dataset_label", "producer_metrics"]

#: The label of files in a folder that cannot name a dataset (the folder's own name could be anything).
INVALID_DATASET = "(invalid)"
#: Delivery latency buckets (seconds): linger (50 ms by default) plus a broker round trip, up to minutes
#: while Kafka is unreachable.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: How often the per-dataset count of waiting files is recomputed (it walks every waiting path).
INBOX_REFRESH_SECS = 1.0


def dataset_label(source: str) -> str:
    """The ``dataset`` label of a file, from its path relative to the inbox."""
    try:
        name = Datasets.name_of_source(source)
    except DatasetNameError:
        return INVALID_DATASET
    return name if name is not None else "(default)"


class ProducerMetrics:
    """The producer's metric objects (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        def counter(name: str, text: str, *labels: str) -> Counter:
            return Counter(f"spoolbridge_producer_{name}", text, ["dataset", *labels], registry=registry)

        self.files = counter("files", "Files processed, by outcome", "outcome")
        self.records_read = counter("records_read", "Records taken from input files (produced or rejected)")
        self.bytes_read = counter("bytes_read", "Bytes of input files read (as stored)")
        self.records_produced = counter("records_produced", "Records acknowledged by Kafka")
        self.records_rejected = counter("records_rejected", "Records written to a rejected report")
        self.records_superseded = counter(
            "records_superseded", "Records overwritten by a later record of the same file (same id)"
        )
        self.produce_errors = counter(
            "produce_errors", "Failed deliveries: refused (rejected) or not_acknowledged (retried)", "kind"
        )
        self.delivery_latency = Histogram(
            "spoolbridge_producer_delivery_latency_seconds",
            "Per file: last record handed to the Kafka client until every record was acknowledged",
            ["dataset"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.inbox_files = Gauge(
            "spoolbridge_producer_inbox_files", "Files waiting in the inbox", ["dataset"], registry=registry
        )
        self._inbox_labels: set[str] = set()
        self._inbox_at = float("-inf")

    def file(self, source: str) -> FileMeter:
        """Bookkeeping for the file ``source`` (relative to the inbox) while it is processed."""
        return FileMeter(self, dataset_label(source))

    def waiting(self, paths: Callable[[], Iterable[Path]], inbox: Path, *, now: float | None = None) -> None:
        """Count the files waiting in the inbox (``paths()``) per dataset, at most every
        ``INBOX_REFRESH_SECS`` (the loop calls this every time round; the inbox may hold thousands)."""
        now = time.monotonic() if now is None else now
        if now - self._inbox_at < INBOX_REFRESH_SECS:
            return
        self._inbox_at = now
        tally = Tally(dataset_label(relative_source(path, inbox)) for path in paths())
        for label in self._inbox_labels - tally.keys():
            self.inbox_files.labels(label).set(0)
        for label, count in tally.items():
            self.inbox_files.labels(label).set(count)
        self._inbox_labels |= tally.keys()


class FileMeter:
    """One file's share of the metrics: records counted as they are read, the rest when it is settled."""

    def __init__(self, metrics: ProducerMetrics, dataset: str) -> None:
        self.metrics = metrics
        self.dataset = dataset
        self._read_counted = 0

    def records_read(self, count: int) -> None:
        """``count`` more records of this file were handed to Kafka (called every 1,000 records)."""
        self._read_counted += count
        self.metrics.records_read.labels(self.dataset).inc(count)

    def settled(self, result: FileResult) -> None:
        """The file's outcome: count it, and what its records became."""
        metrics, dataset = self.metrics, self.dataset
        metrics.files.labels(dataset, result.outcome).inc()
        if result.read > self._read_counted:
            metrics.records_read.labels(dataset).inc(result.read - self._read_counted)
        self._read_counted = result.read
        if result.bytes:
            metrics.bytes_read.labels(dataset).inc(result.bytes)
        if result.rejected:
            metrics.records_rejected.labels(dataset).inc(result.rejected)
        if result.superseded:
            metrics.records_superseded.labels(dataset).inc(result.superseded)
        deliveries = result.deliveries
        if deliveries is None:  # nothing was sent (refused, gone, unreadable, Kafka unreachable)
            return
        if deliveries.acked:
            metrics.records_produced.labels(dataset).inc(deliveries.acked)
        if deliveries.sent:
            metrics.delivery_latency.labels(dataset).observe(deliveries.ack_wait_secs)
        kinds = Tally("refused" if f.permanent else "not_acknowledged" for f in deliveries.failures)
        for kind, count in kinds.items():
            metrics.produce_errors.labels(dataset, kind).inc(count)


@cache
def producer_metrics() -> ProducerMetrics:
    """The process's producer metrics, on the default registry (created on first use)."""
    return ProducerMetrics()
