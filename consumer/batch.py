"""Accumulate fetched messages until a bulk request is worth sending: by count, bytes or time.

A :class:`Batcher` is a FIFO of messages with three limits (``ConsumerSettings``):

- ``max_events`` — at most this many documents per request;
- ``max_bytes`` — at most about this many body bytes per request (at least one message, even a larger one);
- ``timeout_secs`` — a partial batch is due this long after its oldest message arrived.

It may hold more than one batch (the caller keeps fetching while a request is in flight); :meth:`take`
cuts the next batch off the front, in arrival order. Pure: the caller passes the clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from confluent_kafka import Message

__all__ = ["ACTION_OVERHEAD_BYTES", "Batcher", "KafkaMessage", "message_size"]

# The action line around each document: {"index":{"_id":"…"}}\n … \n
ACTION_OVERHEAD_BYTES = 24


# Tests build real ``confluent_kafka.Message`` objects, so no protocol is needed in between.
if TYPE_CHECKING:
    KafkaMessage: TypeAlias = Message[Any, Any]
else:
    KafkaMessage = Message


def message_size(message: KafkaMessage) -> int:
    """Bytes the message adds to a ``_bulk`` body (approximately: the id is JSON-escaped later)."""
    key = message.key()
    value = message.value()
    return (len(key) if key else 0) + (len(value) if value else 0) + ACTION_OVERHEAD_BYTES


class Batcher:
    """A FIFO of messages with count/bytes/time limits. Not thread-safe (used by the loop only)."""

    def __init__(self, *, max_events: int, max_bytes: int, timeout_secs: float) -> None:
        if max_events < 1 or max_bytes < 1 or timeout_secs <= 0:
            raise ValueError("max_events, max_bytes and timeout_secs must be positive")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.timeout_secs = timeout_secs
        self._items: deque[tuple[KafkaMessage, int, float]] = deque()
        self._bytes = 0

    def add(self, message: KafkaMessage, now: float) -> None:
        size = message_size(message)
        self._items.append((message, size, now))
        self._bytes += size

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def full(self) -> bool:
        """True when the messages held make at least one whole batch."""
        return len(self._items) >= self.max_events or self._bytes >= self.max_bytes

    def deadline(self) -> float | None:
        """When the oldest message's batch becomes due by time (None when empty)."""
        return self._items[0][2] + self.timeout_secs if self._items else None

    def due(self, now: float) -> bool:
        """True when :meth:`take` should be called: a whole batch is held, or the oldest waited enough."""
        deadline = self.deadline()
        return deadline is not None and (self.full() or now >= deadline)

    def take(self) -> list[KafkaMessage]:
        """Remove and return the next batch, oldest first: within both limits, at least one message."""
        return self.take_limited(self.max_events, self.max_bytes)[0]

    def take_limited(
        self, max_events: int, max_bytes: int, *, first_may_exceed: bool = True
    ) -> tuple[list[KafkaMessage], int]:
        """Remove and return up to ``max_events`` messages of at most ``max_bytes`` together (oldest
        first) and their size; the first message is taken even when larger if ``first_may_exceed``."""
        batch: list[KafkaMessage] = []
        taken_bytes = 0
        items = self._items
        while items and len(batch) < max_events:
            message, size, _ = items[0]
            if taken_bytes + size > max_bytes and (batch or not first_may_exceed):
                break
            items.popleft()
            batch.append(message)
            taken_bytes += size
        self._bytes -= taken_bytes
        return batch, taken_bytes

    def discard(self, predicate: Callable[[KafkaMessage], bool]) -> int:
        """Remove the messages ``predicate`` selects (those of revoked partitions); returns how many."""
        kept = deque(item for item in self._items if not predicate(item[0]))
        dropped = len(self._items) - len(kept)
        self._items = kept
        self._bytes = sum(size for _, size, _ in kept)
        return dropped
