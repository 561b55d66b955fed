"""Counters of the consumer and the info line it logs every ``progress_interval_secs``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

__all__ = ["Counters", "ProgressLog", "partition_lag"]

log = logging.getLogger("consumer.progress")


@dataclass(slots=True)
class Counters:
    """Totals since start. ``retried`` counts documents sent again, ``requests`` bulk calls made."""

    fetched: int = 0
    indexed: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    retried: int = 0
    requests: int = 0
    dropped_on_revoke: int = 0

    @property
    def done(self) -> int:
        return self.indexed + self.deleted + self.dead_lettered

    def summary(self) -> str:
        return (
            f"fetched={self.fetched} indexed={self.indexed} deleted={self.deleted} "
            f"dlq={self.dead_lettered} retries={self.retried} requests={self.requests}"
        )


class ProgressLog:
    """Logs ``progress docs_per_sec=… retries=… dlq=… lag=…`` at most once per interval."""

    def __init__(self, counters: Counters, interval_secs: float, now: float) -> None:
        self.counters = counters
        self.interval_secs = interval_secs
        self._last_at = now
        self._last_done = 0

    def due(self, now: float) -> bool:
        return now - self._last_at >= self.interval_secs

    def log(self, now: float, *, lag: int | None, paused: int, in_flight: int) -> None:
        counters = self.counters
        elapsed = max(now - self._last_at, 1e-9)
        rate = (counters.done - self._last_done) / elapsed
        self._last_at, self._last_done = now, counters.done
        log.info(
            "progress docs_per_sec=%.0f %s lag=%s paused_partitions=%d in_flight=%d",
            rate, counters.summary(), "?" if lag is None else lag, paused, in_flight,
        )  # fmt: skip


def partition_lag(
    consumer: Consumer,
    partitions: Iterable[tuple[str, int]],
    committed: Callable[[tuple[str, int]], int | None],
) -> int | None:
    """Messages between the committed position and the end of each partition, summed (None if unknown).

    Uses the cached high watermark that comes with every fetch response: no broker round trip.
    """
    total = 0
    try:
        for topic, partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high < 0:
                return None
            position = committed((topic, partition))
            total += max(0, high - (low if position is None else position))
    except KafkaException:
        return None
    return total
