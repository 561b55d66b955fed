"""Batching by count, bytes and time (consumer/batch.py)."""

from __future__ import annotations

from confluent_kafka import Message

from consumer.batch import ACTION_OVERHEAD_BYTES, Batcher


def message(offset: int, size: int = 10, partition: int = 0) -> Message:
    return Message(topic="t", partition=partition, offset=offset, key=b"k", value=b"x" * (size - 1))


def test_full_by_count() -> None:
    batcher = Batcher(max_events=3, max_bytes=10**6, timeout_secs=10)
    for offset in range(7):
        batcher.add(message(offset), now=0.0)
    assert batcher.due(0.0)
    assert [m.offset() for m in batcher.take()] == [0, 1, 2]
    assert [m.offset() for m in batcher.take()] == [3, 4, 5]
    assert not batcher.due(0.0)
    assert len(batcher) == 1


def test_full_by_bytes_and_a_single_large_message_still_goes() -> None:
    per_message = 10 + ACTION_OVERHEAD_BYTES
    batcher = Batcher(max_events=100, max_bytes=per_message * 2, timeout_secs=10)
    batcher.add(message(0, size=per_message * 5), now=0.0)
    for offset in range(1, 4):
        batcher.add(message(offset), now=0.0)
    assert [m.offset() for m in batcher.take()] == [0]
    assert [m.offset() for m in batcher.take()] == [1, 2]
    assert batcher.size_bytes == per_message


def test_partial_batch_is_due_after_the_timeout_of_its_oldest_message() -> None:
    batcher = Batcher(max_events=100, max_bytes=10**6, timeout_secs=0.5)
    assert batcher.deadline() is None and not batcher.due(100.0)
    batcher.add(message(0), now=1.0)
    batcher.add(message(1), now=1.4)
    assert batcher.deadline() == 1.5
    assert not batcher.due(1.49)
    assert batcher.due(1.5)
    assert len(batcher.take()) == 2


def test_discard_removes_only_selected_partitions() -> None:
    batcher = Batcher(max_events=100, max_bytes=10**6, timeout_secs=1)
    for offset in range(6):
        batcher.add(message(offset, partition=offset % 2), now=0.0)
    assert batcher.discard(lambda m: m.partition() == 1) == 3
    assert [m.offset() for m in batcher.take()] == [0, 2, 4]
    assert batcher.size_bytes == 0
