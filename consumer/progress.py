"""Counters of the consumer and the info line it logs every ``progress_interval_secs``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

__all__ = ["Counters", "LagMeter", "ProgressLog", "partition_lag", "partition_lags"]

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
    """Logs ``progress docs_per_sec=… retries=… dlq=… lag=…`` at most once per interval — and not again
    while nothing changes (an idle consumer says where it stands once, not every interval)."""

    def __init__(self, counters: Counters, interval_secs: float, now: float) -> None:
        self.counters = counters
        self.interval_secs = interval_secs
        self._last_at = now
        self._last_done = 0
        self._last_state: tuple[object, ...] | None = None

    def due(self, now: float) -> bool:
        return now - self._last_at >= self.interval_secs

    def log(self, now: float, *, lag: int | None, paused: int, in_flight: int) -> bool:
        """Log the line unless it would repeat the previous one; returns whether it was logged."""
        counters = self.counters
        elapsed = max(now - self._last_at, 1e-9)
        rate = (counters.done - self._last_done) / elapsed
        self._last_at, self._last_done = now, counters.done
        summary = counters.summary()
        state = (summary, lag, paused, in_flight, round(rate))
        if state == self._last_state:
            return False
        self._last_state = state
        log.info(
            "progress docs_per_sec=%.0f %s lag=%s paused_partitions=%d in_flight=%d",
            rate, summary, "?" if lag is None else lag, paused, in_flight,
        )  # fmt: skip
        return True


class LagMeter:
    """The group's lag over the partitions this member owns, cheaply.

    For a partition with a commit in this run the position is that commit; for one without, it is the
    group's committed offset, asked of the broker once per assignment (the low watermark only when the
    group never committed there). Ends come from the high watermark cached with every fetch response.
    """

    def __init__(self, consumer: Consumer, *, timeout_secs: float = 2.0) -> None:
        self._consumer = consumer
        self._timeout_secs = timeout_secs
        self._start: dict[tuple[str, int], int] = {}  # group's committed offset at assignment; <0: none

    def lag(
        self,
        partitions: Iterable[tuple[str, int]],
        committed: Callable[[tuple[str, int]], int | None],
    ) -> int | None:
        """Messages between the committed position and the end of each partition, summed (None if unknown)."""
        lags = self.lags(partitions, committed)
        return None if lags is None else sum(lags.values())

    def lags(
        self,
        partitions: Iterable[tuple[str, int]],
        committed: Callable[[tuple[str, int]], int | None],
    ) -> dict[tuple[str, int], int] | None:
        """:meth:`lag` per partition (None if unknown)."""
        partitions = list(partitions)
        unknown = [tp for tp in partitions if committed(tp) is None and tp not in self._start]
        if unknown:
            self._ask_group(unknown)

        def position(tp: tuple[str, int]) -> int | None:
            ours = committed(tp)
            return self._start.get(tp) if ours is None else ours

        return partition_lags(self._consumer, partitions, position)

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions were revoked: ask again if they come back (another member may have committed)."""
        for tp in partitions:
            self._start.pop(tp, None)

    def _ask_group(self, partitions: list[tuple[str, int]]) -> None:
        try:
            answer = self._consumer.committed(
                [TopicPartition(t, p) for t, p in partitions], timeout=self._timeout_secs
            )
        except KafkaException as exc:  # asked again at the next progress line
            log.debug("committed offsets unavailable error=%s", exc)
            return
        for tp in answer:
            if tp.error is None:
                self._start[(tp.topic, tp.partition)] = tp.offset


def partition_lag(
    consumer: Consumer,
    partitions: Iterable[tuple[str, int]],
    committed: Callable[[tuple[str, int]], int | None],
) -> int | None:
    """Messages between the committed position and the end of each partition, summed (None if unknown)."""
    lags = partition_lags(consumer, partitions, committed)
    return None if lags is None else sum(lags.values())


def partition_lags(
    consumer: Consumer,
    partitions: Iterable[tuple[str, int]],
    committed: Callable[[tuple[str, int]], int | None],
) -> dict[tuple[str, int], int] | None:
    """Messages between the committed position and the end of each partition (None if unknown).

    ``committed`` gives the next offset to read per partition (None or negative: from the low watermark).
    Uses the cached high watermark that comes with every fetch response: no broker round trip.
    """
    lags: dict[tuple[str, int], int] = {}
    try:
        for topic, partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high < 0:
                return None
            position = committed((topic, partition))
            lags[(topic, partition)] = max(0, high - (low if position is None or position < 0 else position))
    except KafkaException:
        return None
    return lags
