"""Gaps in a partition's offsets are records the retention removed (consumer/expiry.py), without Kafka."""

from __future__ import annotations

from typing import Any

from confluent_kafka import TopicPartition

from consumer.expiry import (
    MAX_RANGES,
    ExpiryWatch,
    expired_from_metadata,
    expired_metadata,
    expired_ranges_from_metadata,
)


class _Group:
    """The one broker call the watch makes: the group's committed offsets (with their metadata)."""

    def __init__(self, offset: int, metadata: str | None = None) -> None:
        self.offset, self.metadata, self.asked = offset, metadata, 0

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[Any]:
        self.asked += 1
        (tp,) = partitions
        if self.metadata is None:
            return [TopicPartition(tp.topic, tp.partition, self.offset)]
        return [TopicPartition(tp.topic, tp.partition, self.offset, metadata=self.metadata)]


def _watch(group: _Group) -> tuple[ExpiryWatch, list[tuple[tuple[str, int], int, int]]]:
    gaps: list[tuple[tuple[str, int], int, int]] = []
    return ExpiryWatch(group, lambda tp, first, end: gaps.append((tp, first, end))), gaps


def test_the_first_message_beyond_the_groups_commit_is_a_gap_and_contiguous_ones_are_not() -> None:
    group = _Group(100)
    watch, gaps = _watch(group)
    for offset in (250, 251, 252):
        watch.check(("t", 0), offset)
    assert gaps == [(("t", 0), 100, 250)]
    assert group.asked == 1  # once per assignment
    assert watch.metadata(("t", 0)) == "spoolbridge-expired=150;spoolbridge-expired-offsets=100-249"


def test_a_group_that_never_committed_counts_from_offset_zero() -> None:
    watch, gaps = _watch(_Group(-1001))  # OFFSET_INVALID: no commit
    watch.check(("t", 1), 0)
    assert gaps == [] and watch.metadata(("t", 1)) is None
    watch.check(("t", 1), 7)  # a reset while the consumer lags behind the retention
    assert gaps == [(("t", 1), 1, 7)]


def test_the_count_and_offsets_carried_by_the_commit_grow_and_a_revoke_forgets_them() -> None:
    watch, _ = _watch(_Group(10, metadata=expired_metadata(40, [(0, 3)])))
    watch.check(("t", 0), 15)
    assert watch.metadata(("t", 0)) == "spoolbridge-expired=45;spoolbridge-expired-offsets=0-3,10-14"
    watch.check(("t", 0), 20)  # adjacent to the last gap: joined
    assert expired_ranges_from_metadata(watch.metadata(("t", 0))) == [(0, 3), (10, 14), (16, 19)]
    watch.forget([("t", 0)])
    assert watch.metadata(("t", 0)) is None


def test_metadata_that_is_not_ours_counts_nothing() -> None:
    assert [
        expired_from_metadata(m)
        for m in (None, "", "x=1", "spoolbridge-expired=x", "a;spoolbridge-expired=3")
    ] == [0, 0, 0, 0, 3]


def test_the_commit_keeps_the_latest_gaps_offsets_only_and_the_count_says_how_many_more() -> None:
    watch, _ = _watch(_Group(0))
    for gap in range(MAX_RANGES + 5):
        watch.check(("t", 0), 10 * gap + 5)  # 9 records lost (5 the first time), one read
    metadata = watch.metadata(("t", 0))
    ranges = expired_ranges_from_metadata(metadata)
    assert len(ranges) == MAX_RANGES and ranges[-1] == (10 * (MAX_RANGES + 4) - 4, 10 * (MAX_RANGES + 4) + 4)
    assert expired_from_metadata(metadata) == 5 + 9 * (MAX_RANGES + 4)
    assert metadata is not None and len(metadata) < 4096 // 4  # the broker's default metadata limit


def test_offsets_that_are_not_ours_or_not_readable_place_nothing() -> None:
    assert [
        expired_ranges_from_metadata(m)
        for m in (
            None,
            "spoolbridge-expired=3",
            "spoolbridge-expired-offsets=5-1",
            "spoolbridge-expired-offsets=a-b",
        )
    ] == [[], [], [], []]
