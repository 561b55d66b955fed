"""Gaps in a partition's offsets are records the retention removed (consumer/expiry.py), without Kafka."""

from __future__ import annotations

from typing import Any

from confluent_kafka import TopicPartition

from consumer.expiry import ExpiryWatch, expired_from_metadata, expired_metadata


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
    assert watch.metadata(("t", 0)) == "spoolbridge-expired=150"


def test_a_group_that_never_committed_counts_from_offset_zero() -> None:
    watch, gaps = _watch(_Group(-1001))  # OFFSET_INVALID: no commit
    watch.check(("t", 1), 0)
    assert gaps == [] and watch.metadata(("t", 1)) is None
    watch.check(("t", 1), 7)  # a reset while the consumer lags behind the retention
    assert gaps == [(("t", 1), 1, 7)]


def test_the_count_carried_by_the_commit_grows_and_a_revoke_forgets_it() -> None:
    watch, _ = _watch(_Group(10, metadata=expired_metadata(40)))
    watch.check(("t", 0), 15)
    assert watch.metadata(("t", 0)) == "spoolbridge-expired=45"
    watch.forget([("t", 0)])
    assert watch.metadata(("t", 0)) is None


def test_metadata_that_is_not_ours_counts_nothing() -> None:
    assert [
        expired_from_metadata(m)
        for m in (None, "", "x=1", "spoolbridge-expired=x", "a;spoolbridge-expired=3")
    ] == [0, 0, 0, 0, 3]
