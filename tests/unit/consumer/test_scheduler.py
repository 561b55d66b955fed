"""A partition is in at most one request at a time; retries go first (consumer/scheduler.py)."""

from __future__ import annotations

from confluent_kafka import Message

from consumer.bulk import build_bulk
from consumer.scheduler import Pending, Scheduler

T = "t"


def msg(partition: int, offset: int) -> Message:
    return Message(topic=T, partition=partition, offset=offset, key=b"k%d" % offset, value=b"{}")


def scheduler(max_events: int = 4, timeout_secs: float = 1.0) -> Scheduler:
    return Scheduler(max_events=max_events, max_bytes=10**6, timeout_secs=timeout_secs)


def fill(s: Scheduler, partition: int, offsets: range, now: float = 0.0) -> None:
    for offset in offsets:
        s.add((T, partition), msg(partition, offset), now)


def offsets(messages: list[Message]) -> list[tuple[int | None, int | None]]:
    return [(m.partition(), m.offset()) for m in messages]


def test_nothing_is_cut_before_a_whole_batch_or_the_timeout() -> None:
    s = scheduler()
    fill(s, 0, range(3))
    assert s.take_batch(0.5) is None
    batch = s.take_batch(1.0)
    assert batch is not None and offsets(batch.messages) == [(0, 0), (0, 1), (0, 2)]
    assert s.next_wakeup() is None  # the only partition is busy


def test_a_busy_partition_is_not_in_a_second_request_until_released() -> None:
    s = scheduler()
    fill(s, 0, range(8))
    first = s.take_batch(0.0)
    assert first is not None and offsets(first.messages) == [(0, o) for o in range(4)]
    assert s.take_batch(0.0) is None
    s.release(first.partitions)
    second = s.take_batch(0.0)
    assert second is not None and offsets(second.messages) == [(0, o) for o in range(4, 8)]


def test_free_slots_get_different_partitions() -> None:
    s = scheduler(max_events=100)
    for p in range(3):
        fill(s, p, range(p * 10, p * 10 + 10))
    a = s.take_batch(5.0, free_slots=2)
    b = s.take_batch(5.0, free_slots=1)
    assert a is not None and b is not None
    assert len(a.partitions) == 2 and len(b.partitions) == 1
    assert not a.partitions & b.partitions
    assert sorted(offsets(a.messages + b.messages)) == sorted(
        (p, p * 10 + o) for p in range(3) for o in range(10)
    )


def test_a_retry_goes_before_newer_messages_of_its_partitions_and_waits_its_backoff() -> None:
    s = scheduler()
    fill(s, 0, range(4))
    first = s.take_batch(0.0)
    assert first is not None
    request, _ = build_bulk(first.messages)
    s.defer(Pending(request.subset([1, 3]), attempt=1, not_before=2.0))
    s.release(first.partitions)
    fill(s, 0, range(4, 8), now=0.0)
    assert s.take_batch(1.0) is None  # partition 0 waits behind its retry
    assert s.take_pending(1.0) is None  # backoff not over
    assert (T, 0) in s.to_pause(1.0)
    pending = s.take_pending(2.0)
    assert pending is not None and offsets(pending.request.messages) == [(0, 1), (0, 3)]
    assert s.take_batch(2.0) is None  # still busy: the retry is in flight
    s.release(pending.partitions)
    later = s.take_batch(2.0)
    assert later is not None and offsets(later.messages) == [(0, o) for o in range(4, 8)]


def test_split_halves_of_one_partition_are_sent_one_after_the_other() -> None:
    s = scheduler()
    fill(s, 0, range(4))
    batch = s.take_batch(0.0)
    assert batch is not None
    first, second = build_bulk(batch.messages)[0].halves()
    s.defer(Pending(first, 0, 0.0))
    s.defer(Pending(second, 0, 0.0))
    s.release(batch.partitions)
    one = s.take_pending(0.0)
    assert one is not None and s.take_pending(0.0) is None
    s.release(one.partitions)
    two = s.take_pending(0.0)
    assert two is not None and offsets(two.request.messages) == [(0, 2), (0, 3)]


def test_partitions_holding_two_batches_are_paused() -> None:
    s = scheduler(max_events=2)
    fill(s, 0, range(4))
    fill(s, 1, range(1))
    assert s.to_pause(0.0) == {(T, 0)}


def test_discard_drops_held_and_deferred_messages_of_revoked_partitions() -> None:
    s = scheduler(max_events=100)
    fill(s, 0, range(3))
    fill(s, 1, range(3))
    batch = s.take_batch(5.0)
    assert batch is not None
    request, _ = build_bulk(batch.messages)
    s.defer(Pending(request, 1, 9.0))
    s.release(batch.partitions)
    fill(s, 1, range(3, 5))
    assert s.discard({(T, 1)}) == 5
    pending = s.take_pending(9.0)
    assert pending is not None and offsets(pending.request.messages) == [(0, 0), (0, 1), (0, 2)]
    s.release(pending.partitions)
    assert s.idle


def topic_msg(topic: str, partition: int, offset: int) -> Message:
    return Message(topic=topic, partition=partition, offset=offset, key=b"k%d" % offset, value=b"{}")


def test_a_request_carries_one_topic_and_the_longest_waiting_topic_goes_first() -> None:
    s = Scheduler(max_events=100, max_bytes=10**6, timeout_secs=1.0, per_topic=2)
    for offset in range(3):
        s.add(("b", 0), topic_msg("b", 0, offset), 0.5)
        s.add(("a", 0), topic_msg("a", 0, offset), 0.0)
    first = s.take_batch(2.0, free_slots=2)
    second = s.take_batch(2.0, free_slots=1)
    assert first is not None and second is not None
    assert {m.topic() for m in first.messages} == {"a"}  # waited since 0.0
    assert {m.topic() for m in second.messages} == {"b"}


def test_a_slow_topic_never_takes_more_than_its_share_of_the_slots() -> None:
    s = Scheduler(max_events=2, max_bytes=10**6, timeout_secs=1.0, per_topic=2)
    for p in range(4):
        for offset in range(10):
            s.add(("wide", p), topic_msg("wide", p, offset), 0.0)
    taken = [s.take_batch(0.0, free_slots=1) for _ in range(2)]
    assert all(b is not None and {m.topic() for m in b.messages} == {"wide"} for b in taken)
    assert s.take_batch(0.0, free_slots=3) is None  # two requests of "wide" in flight: its limit
    s.add(("small", 0), topic_msg("small", 0, 0), 0.0)
    batch = s.take_batch(5.0, free_slots=3)
    assert batch is not None and offsets(batch.messages) == [(0, 0)] and batch.messages[0].topic() == "small"
    first = taken[0]
    assert first is not None
    s.release(first.partitions)
    again = s.take_batch(0.0, free_slots=1)
    assert again is not None and {m.topic() for m in again.messages} == {"wide"}


def test_a_retry_waits_while_its_topic_has_no_room() -> None:
    s = Scheduler(max_events=2, max_bytes=10**6, timeout_secs=1.0, per_topic=1)
    fill(s, 0, range(2))
    fill(s, 1, range(10, 12))
    first = s.take_batch(0.0, free_slots=1)
    assert first is not None and first.partitions == frozenset({(T, 0)})
    s.defer(Pending(build_bulk(first.messages)[0], 1, 0.0))
    s.release(first.partitions)
    second = s.take_batch(0.0, free_slots=1)
    assert second is not None and second.partitions == frozenset({(T, 1)})
    assert s.take_pending(1.0) is None  # the topic's one request is in flight
    s.release(second.partitions)
    retry = s.take_pending(1.0)
    assert retry is not None and retry.partitions == frozenset({(T, 0)})
