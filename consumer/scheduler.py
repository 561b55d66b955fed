"""Which messages go into the next bulk request — so that several requests are in flight and yet no
partition is ever overtaken by itself.

The rule: **a partition is in at most one request at a time**, and a request that has to be sent again
(:class:`Pending`: a retry, or half of a split request) is sent before anything newer of its partitions.
So a partition's documents reach OpenSearch in offset order — the later version of an id is never
overtaken by an earlier one, not even by a retry — while requests for *different* partitions run in
parallel (``concurrent_requests``). Unlike a fixed partition→lane mapping, any free slot can serve any
free partition, so 3 partitions keep 2 slots busy until the very end.

Messages are held per partition (a :class:`~consumer.batch.Batcher` each); a new batch is cut when the
held messages of the free partitions make a whole batch or the oldest has waited ``timeout_secs``. When
several slots are free, a batch takes only as many partitions as leaves one for each other free slot.

Pure: no Kafka, no HTTP, no clock (the caller passes ``now``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from consumer.batch import Batcher, KafkaMessage
from consumer.bulk import BulkRequest
from consumer.offsets import TopicPartitionKey

__all__ = ["Batch", "Pending", "Scheduler", "partitions_of"]


def partitions_of(messages: Iterable[KafkaMessage]) -> frozenset[TopicPartitionKey]:
    return frozenset((m.topic() or "", m.partition() or 0) for m in messages)


@dataclass(eq=False)
class Pending:
    """A request to send again, not before ``not_before``; ``attempt`` counts the retries so far."""

    request: BulkRequest
    attempt: int
    not_before: float
    partitions: frozenset[TopicPartitionKey] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.partitions:
            self.partitions = partitions_of(self.request.messages)


@dataclass(eq=False)
class Batch:
    """Messages for a new request, oldest first per partition, and the partitions now busy with it."""

    messages: list[KafkaMessage]
    partitions: frozenset[TopicPartitionKey]


class Scheduler:
    def __init__(self, *, max_events: int, max_bytes: int, timeout_secs: float) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.timeout_secs = timeout_secs
        self._held: dict[TopicPartitionKey, Batcher] = {}
        self._in_flight: set[TopicPartitionKey] = set()
        self._pending: deque[Pending] = deque()

    # --- input ------------------------------------------------------------------------------------

    def add(self, tp: TopicPartitionKey, message: KafkaMessage, now: float) -> None:
        held = self._held.get(tp)
        if held is None:
            held = self._held[tp] = Batcher(
                max_events=self.max_events, max_bytes=self.max_bytes, timeout_secs=self.timeout_secs
            )
        held.add(message, now)

    def defer(self, pending: Pending) -> None:
        """Queue a request to send again (its partitions stay busy until it is sent and answered)."""
        self._pending.append(pending)

    def release(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """A request over ``partitions`` was answered (retries, if any, were deferred first)."""
        self._in_flight.difference_update(partitions)

    # --- output -----------------------------------------------------------------------------------

    def take_pending(self, now: float) -> Pending | None:
        """The oldest deferred request that is due and whose partitions are not in flight, if any."""
        blocked = set(self._in_flight)
        for pending in self._pending:
            if pending.not_before <= now and not pending.partitions & blocked:
                self._pending.remove(pending)
                self._in_flight |= pending.partitions
                return pending
            blocked |= pending.partitions  # a later request must not overtake this one
        return None

    def take_batch(self, now: float, *, free_slots: int = 1, flush: bool = False) -> Batch | None:
        """Cut a new batch from free partitions when one is due (``flush``: whatever is held)."""
        busy = self._busy()
        candidates = [(tp, held) for tp, held in self._held.items() if len(held) and tp not in busy]
        if not candidates:
            return None
        events = sum(len(held) for _, held in candidates)
        size = sum(held.size_bytes for _, held in candidates)
        oldest = min(held.deadline() or now for _, held in candidates)
        if not (flush or events >= self.max_events or size >= self.max_bytes or now >= oldest):
            return None
        candidates.sort(key=lambda item: item[1].deadline() or now)
        keep_for_others = max(0, min(free_slots - 1, len(candidates) - 1))
        messages: list[KafkaMessage] = []
        taken: set[TopicPartitionKey] = set()
        size = 0
        for tp, held in candidates[: len(candidates) - keep_for_others]:
            room_events, room_bytes = self.max_events - len(messages), self.max_bytes - size
            if room_events <= 0 or (room_bytes <= 0 and messages):
                break
            part, part_bytes = held.take_limited(
                room_events, max(room_bytes, 1), first_may_exceed=not messages
            )
            if part:
                messages.extend(part)
                size += part_bytes
                taken.add(tp)
        if not messages:
            return None
        self._in_flight |= taken
        return Batch(messages, frozenset(taken))

    # --- state ------------------------------------------------------------------------------------

    def _busy(self) -> set[TopicPartitionKey]:
        busy = set(self._in_flight)
        for pending in self._pending:
            busy |= pending.partitions
        return busy

    def to_pause(self, now: float) -> set[TopicPartitionKey]:
        """Partitions that should not fetch: backing off, or holding two batches already."""
        hold = {
            tp
            for tp, held in self._held.items()
            if len(held) >= 2 * self.max_events or held.size_bytes >= 2 * self.max_bytes
        }
        for pending in self._pending:
            if pending.not_before > now:
                hold |= pending.partitions
        return hold

    def next_wakeup(self) -> float | None:
        """When something becomes due by the clock (a deferred request or a partial batch)."""
        times = [p.not_before for p in self._pending]
        busy = self._busy()
        times += [
            d for tp, held in self._held.items() if tp not in busy and (d := held.deadline()) is not None
        ]
        return min(times) if times else None

    @property
    def idle(self) -> bool:
        """Nothing held, deferred or in flight."""
        return not self._in_flight and not self._pending and not any(len(h) for h in self._held.values())

    @property
    def held(self) -> int:
        return sum(len(held) for held in self._held.values())

    def discard(self, partitions: set[TopicPartitionKey]) -> int:
        """Forget revoked partitions: held and deferred messages are dropped; returns how many."""
        dropped = 0
        for tp in partitions:
            held = self._held.pop(tp, None)
            dropped += len(held) if held is not None else 0
        kept: deque[Pending] = deque()
        for pending in self._pending:
            positions = [
                i
                for i, m in enumerate(pending.request.messages)
                if (m.topic() or "", m.partition() or 0) not in partitions
            ]
            dropped += len(pending.request) - len(positions)
            if positions:
                request = pending.request.subset(positions)
                kept.append(Pending(request, pending.attempt, pending.not_before))
        self._pending = kept
        self._in_flight -= partitions
        return dropped
