"""Which offsets may be committed: per-partition tracking of final outcomes (Invariant C).

A message is *tracked* when it is fetched and *finished* when its outcome is final: it is in OpenSearch,
it was a delete OpenSearch acknowledged, or the dead-letter topic acknowledged it. The committable
position of a partition is one past the newest finished message that has no unfinished message before it
(Kafka's "next offset to read"). Committing that position therefore never passes
a message that is not in OpenSearch or in the dead-letter topic, whatever order outcomes arrive in.

Pure: no Kafka client, no clock. Offsets must be tracked in increasing order per partition (the order
Kafka delivers them); they need not be contiguous (compaction, transaction markers).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

__all__ = ["OffsetTracker", "PartitionOffsets", "TopicPartitionKey"]

TopicPartitionKey = tuple[str, int]


class PartitionOffsets:
    """Outstanding offsets of one partition, oldest first."""

    __slots__ = ("_finished", "_last", "_outstanding", "_position")

    def __init__(self) -> None:
        self._outstanding: deque[int] = deque()
        self._finished: set[int] = set()
        self._position: int | None = None
        self._last: int | None = None

    def track(self, offset: int) -> None:
        """Record a fetched message. Raises ValueError if ``offset`` is not newer than the last one."""
        if self._last is not None and offset <= self._last:
            raise ValueError(f"offset {offset} tracked out of order (last {self._last})")
        self._last = offset
        self._outstanding.append(offset)

    def finish(self, offset: int) -> None:
        """Mark a tracked message final. Finishing an unknown or already finished offset is a no-op."""
        outstanding = self._outstanding
        if outstanding and outstanding[0] == offset:
            outstanding.popleft()
            self._position = offset + 1
            finished = self._finished
            while outstanding and outstanding[0] in finished:
                head = outstanding.popleft()
                finished.discard(head)
                self._position = head + 1
        elif outstanding and offset > outstanding[0]:
            self._finished.add(offset)

    @property
    def position(self) -> int | None:
        """The offset to commit (next to read), or None when nothing has been finished yet."""
        return self._position

    @property
    def pending(self) -> int:
        """How many tracked messages are not final yet."""
        return len(self._outstanding) - len(self._finished)


class OffsetTracker:
    """:class:`PartitionOffsets` for every assigned partition, plus what was last committed."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartitionKey, PartitionOffsets] = {}
        self._committed: dict[TopicPartitionKey, int] = {}

    def track(self, tp: TopicPartitionKey, offset: int) -> None:
        part = self._partitions.get(tp)
        if part is None:
            part = self._partitions[tp] = PartitionOffsets()
        part.track(offset)

    def finish(self, tp: TopicPartitionKey, offset: int) -> None:
        part = self._partitions.get(tp)
        if part is not None:  # the partition may have been revoked while the request was in flight
            part.finish(offset)

    def finish_many(self, tp: TopicPartitionKey, offsets: Iterable[int]) -> None:
        part = self._partitions.get(tp)
        if part is not None:
            for offset in offsets:
                part.finish(offset)

    def uncommitted(
        self, partitions: Iterable[TopicPartitionKey] | None = None, *, everything: bool = False
    ) -> dict[TopicPartitionKey, int]:
        """Positions that moved since they were last marked committed (for the given partitions, or all).

        ``everything=True`` returns every known position, moved or not — for a final, synchronous commit
        that must not rely on an earlier asynchronous one having succeeded.
        """
        keys = self._partitions.keys() if partitions is None else partitions
        result: dict[TopicPartitionKey, int] = {}
        for tp in keys:
            part = self._partitions.get(tp)
            if part is None or part.position is None:
                continue
            if everything or part.position != self._committed.get(tp):
                result[tp] = part.position
        return result

    def mark_committed(self, positions: dict[TopicPartitionKey, int]) -> None:
        self._committed.update(positions)

    def committed(self, tp: TopicPartitionKey) -> int | None:
        return self._committed.get(tp)

    def finished_to(self, tp: TopicPartitionKey) -> int | None:
        """The next offset to read as far as this member's outcomes are final, committed or not yet (else
        what was last committed; None: neither is known)."""
        part = self._partitions.get(tp)
        if part is not None and part.position is not None:
            return part.position
        return self._committed.get(tp)

    def forget(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """Drop all state of partitions this consumer no longer owns; late outcomes for them are ignored."""
        for tp in partitions:
            self._partitions.pop(tp, None)
            self._committed.pop(tp, None)

    def pending(self) -> int:
        return sum(part.pending for part in self._partitions.values())
