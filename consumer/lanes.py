"""Lanes: how several bulk requests are in flight without reordering any partition.

Each partition belongs to exactly one lane (``partition % lanes``), and a lane has at most one request in
flight. So a partition's documents reach OpenSearch in offset order — the later version of an id is never
overtaken by an earlier one, not even by a retry, because a lane sends its retries (and the halves of a
split request) before anything newer. Different lanes run in parallel (``concurrent_requests``).

A lane is *blocked* while its retry waits out a backoff, and *full* when it holds more than two batches;
either way the runner pauses its partitions (the consumer keeps polling, so it stays in the group).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from consumer.batch import Batcher, KafkaMessage
from consumer.bulk import BulkRequest
from consumer.send import BulkResponse

__all__ = ["Lane"]


@dataclass(eq=False)
class Lane:
    number: int
    batcher: Batcher
    in_flight: Future[BulkResponse] | None = None
    request: BulkRequest | None = None
    queued: deque[BulkRequest] = field(default_factory=deque)  # retries and split halves, oldest first
    attempt: int = 0
    retry_at: float = 0.0

    @property
    def idle(self) -> bool:
        """Nothing held, queued or in flight."""
        return self.in_flight is None and not self.queued and len(self.batcher) == 0

    def blocked(self, now: float) -> bool:
        return bool(self.queued) and self.attempt > 0 and now < self.retry_at

    def full(self) -> bool:
        batcher = self.batcher
        return len(batcher) >= 2 * batcher.max_events or batcher.size_bytes >= 2 * batcher.max_bytes

    def next_wakeup(self) -> float | None:
        """When this lane next has something to do by the clock (a retry or a batch deadline)."""
        if self.in_flight is not None:
            return None
        if self.queued:
            return self.retry_at
        return self.batcher.deadline()

    def discard(self, revoked: Callable[[KafkaMessage], bool]) -> int:
        """Drop held and queued messages of revoked partitions; returns how many were dropped."""
        dropped = self.batcher.discard(revoked)
        kept: deque[BulkRequest] = deque()
        for request in self.queued:
            positions = [i for i, message in enumerate(request.messages) if not revoked(message)]
            dropped += len(request) - len(positions)
            if positions:
                kept.append(request.subset(positions))
        self.queued = kept
        if not kept:
            self.attempt = 0
        return dropped
