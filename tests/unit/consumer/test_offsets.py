"""Commit positions never pass an unfinished message (consumer/offsets.py, Invariant C)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.offsets import OffsetTracker, PartitionOffsets

TP = ("t", 0)


def test_position_is_none_until_the_first_message_is_final() -> None:
    part = PartitionOffsets()
    part.track(5)
    part.track(6)
    assert part.position is None
    part.finish(6)
    assert part.position is None  # 5 is not final: committing 7 would skip it
    part.finish(5)
    assert part.position == 7
    assert part.pending == 0


def test_gaps_in_offsets_are_fine() -> None:
    part = PartitionOffsets()
    for offset in (10, 12, 20):
        part.track(offset)
    part.finish(12)
    part.finish(10)
    assert part.position == 13
    part.finish(20)
    assert part.position == 21


def test_tracking_out_of_order_is_an_error() -> None:
    part = PartitionOffsets()
    part.track(3)
    with pytest.raises(ValueError, match="out of order"):
        part.track(3)


def test_finishing_unknown_or_repeated_offsets_changes_nothing() -> None:
    part = PartitionOffsets()
    part.track(1)
    part.finish(0)
    part.finish(1)
    part.finish(1)
    assert part.position == 2


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=60), st.randoms())
def test_position_is_always_the_oldest_unfinished_offset(gaps: list[int], rng: random.Random) -> None:
    offsets = []
    current = 0
    for gap in gaps:
        current += gap
        offsets.append(current)
    part = PartitionOffsets()
    for offset in offsets:
        part.track(offset)
    finished: set[int] = set()
    order = offsets[:]
    rng.shuffle(order)
    for offset in order:
        part.finish(offset)
        finished.add(offset)
        prefix = [o for o in offsets if all(p in finished for p in offsets if p <= o)]
        assert part.position == (prefix[-1] + 1 if prefix else None)
        if part.position is not None:
            assert all(o in finished for o in offsets if o < part.position)


def test_tracker_reports_each_moved_position_once_and_forgets_revoked_partitions() -> None:
    tracker = OffsetTracker()
    for offset in range(3):
        tracker.track(TP, offset)
        tracker.track(("t", 1), offset)
    tracker.finish_many(TP, [0, 1])
    assert tracker.uncommitted() == {TP: 2}
    tracker.mark_committed({TP: 2})
    assert tracker.uncommitted() == {}
    assert tracker.uncommitted(everything=True) == {TP: 2}
    tracker.finish(("t", 1), 0)
    assert tracker.uncommitted([TP]) == {}
    assert tracker.uncommitted([("t", 1)]) == {("t", 1): 1}
    tracker.forget([("t", 1)])
    tracker.finish(("t", 1), 1)  # a late answer for a revoked partition is ignored
    assert tracker.uncommitted() == {}
    assert tracker.pending() == 1
