"""Which messages go into the next bulk request — so that several requests are in flight, no partition is
ever overtaken by itself, and no dataset (topic) can hold up another.

The rule: **a partition is in at most one request at a time**, and a request that has to be sent again
(:class:`Pending`: a retry, or half of a split request) is sent before anything newer of its partitions.
So a partition's documents reach OpenSearch in offset order — the later version of an id is never
overtaken by an earlier one, not even by a retry — while requests for *different* partitions run in
parallel (``concurrent_requests``). Unlike a fixed partition→lane mapping, any free slot can serve any
free partition, so 3 partitions keep 2 slots busy until the very end.

Datasets: **a request carries one topic's messages** (so one index, and one dataset's pace), and **a topic
has at most ``per_topic`` requests in flight**. A dataset whose requests take tens of seconds (an exploding
mapping) therefore occupies at most ``per_topic`` of the runner's slots, and every other dataset keeps
its own; among topics with work due, the one whose messages have waited longest goes first.

Messages are held per partition (a :class:`~consumer.batch.Batcher` each); a new batch is cut when the
held messages of a topic's free partitions make a whole batch or the oldest has waited ``timeout_secs``.
When several slots are free, a batch takes only as many partitions as leaves one for each other slot its
topic may still use.

Pure: no Kafka, no HTTP, no clock (the caller passes ``now``).
"""

from __future__ import annotations

from collections import Counter, deque
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
    def __init__(
        self, *, max_events: int, max_bytes: int, timeout_secs: float, per_topic: int | None = None
    ) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.timeout_secs = timeout_secs
        self.per_topic = per_topic  # None: no limit per topic
        self._held: dict[TopicPartitionKey, Batcher] = {}
        self._in_flight: set[TopicPartitionKey] = set()
        self._requests: Counter[str] = Counter()  # requests in flight per topic
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

    def release(self, partitions: frozenset[TopicPartitionKey]) -> None:
        """A request over ``partitions`` was answered (retries, if any, were deferred first)."""
        self._in_flight.difference_update(partitions)
        self._count(partitions, -1)

    def _count(self, partitions: frozenset[TopicPartitionKey], change: int) -> None:
        for topic in {t for t, _ in partitions}:
            self._requests[topic] += change
            if self._requests[topic] <= 0:
                del self._requests[topic]

    def _room(self, topic: str) -> int:
        """How many more requests ``topic`` may have in flight."""
        if self.per_topic is None:
            return 1 << 30
        return self.per_topic - self._requests[topic]

    # --- output -----------------------------------------------------------------------------------

    def take_pending(self, now: float) -> Pending | None:
        """The oldest deferred request that is due and whose partitions are not in flight, if any."""
        blocked = set(self._in_flight)
        for pending in self._pending:
            if (
                pending.not_before <= now
                and not pending.partitions & blocked
                and all(self._room(t) > 0 for t, _ in pending.partitions)
            ):
                self._pending.remove(pending)
                self._in_flight |= pending.partitions
                self._count(pending.partitions, +1)
                return pending
            blocked |= pending.partitions  # a later request must not overtake this one
        return None

    def take_batch(self, now: float, *, free_slots: int = 1, flush: bool = False) -> Batch | None:
        """Cut a new batch from the free partitions of one topic when one is due (``flush``: whatever is
        held), taking the topic whose messages have waited longest first."""
        busy = self._busy()
        by_topic: dict[str, list[tuple[TopicPartitionKey, Batcher]]] = {}
        for tp, held in self._held.items():
            if len(held) and tp not in busy and self._room(tp[0]) > 0:
                by_topic.setdefault(tp[0], []).append((tp, held))
        due = [
            (min(held.deadline() or now for _, held in candidates), topic)
            for topic, candidates in by_topic.items()
            if flush or self._due(candidates, now)
        ]
        if not due:
            return None
        topic = min(due)[1]
        candidates = sorted(by_topic[topic], key=lambda item: item[1].deadline() or now)
        slots = min(free_slots, self._room(topic))
        keep_for_others = max(0, min(slots - 1, len(candidates) - 1))
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
        batch = Batch(messages, frozenset(taken))
        self._in_flight |= taken
        self._count(batch.partitions, +1)
        return batch

    def _due(self, candidates: list[tuple[TopicPartitionKey, Batcher]], now: float) -> bool:
        events = sum(len(held) for _, held in candidates)
        size = sum(held.size_bytes for _, held in candidates)
        oldest = min(held.deadline() or now for _, held in candidates)
        return events >= self.max_events or size >= self.max_bytes or now >= oldest

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
        for topic in {t for t, _ in partitions}:
            if not any(t == topic for t, _ in self._in_flight):
                self._requests.pop(topic, None)
        return dropped
