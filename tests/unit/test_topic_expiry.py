"""A topic's partitions for the group, and which file versions the expired records may have come from
(spoolbridge/topic_expiry.py): the arithmetic ``status`` and the page share, without Kafka."""

from __future__ import annotations

import pytest

from consumer.expiry import expired_metadata
from spoolbridge.topic_expiry import PartitionLag, expired_offsets, expired_within, may_be_hit, partition_lag


@pytest.mark.parametrize(
    ("committed", "metadata", "low", "high", "expected"),
    [
        (100, None, 0, 100, PartitionLag(0, 100, 100, 0)),  # all read, nothing lost
        (100, None, 0, 300, PartitionLag(0, 100, 300, 200)),  # lag only
        # below the log start, not reached yet: lost already, and no longer lag
        (100, None, 250, 300, PartitionLag(0, 100, 300, 50, 150, [(100, 249)])),
        # the consumer met a gap: its commit metadata carries the count and the offsets
        (300, expired_metadata(150, [(100, 249)]), 250, 300, PartitionLag(0, 300, 300, 0, 150, [(100, 249)])),
        # a group that never committed there: everything below the log start is lost for it
        (-1001, None, 250, 300, PartitionLag(0, None, 300, 50, 250, [(0, 249)])),
        # both: an earlier gap, and records that expired since below the committed offset
        (
            300,
            expired_metadata(5, [(10, 14)]),
            320,
            400,
            PartitionLag(0, 300, 400, 80, 25, [(10, 14), (300, 319)]),
        ),
    ],
)
def test_a_partitions_lag_and_expired_records_come_from_the_commit_and_the_log_start(
    committed: int, metadata: str | None, low: int, high: int, expected: PartitionLag
) -> None:
    assert partition_lag(0, committed, metadata, low, high) == expected


def test_a_file_is_hit_when_its_offsets_overlap_the_expired_ones() -> None:
    partitions = [PartitionLag(0, 300, 300, 0, 150, [(100, 249)]), PartitionLag(1, 10, 10, 0)]
    assert expired_offsets(partitions) == {0: [(100, 249)]}
    assert not may_be_hit({0: (0, 99)}, partitions)
    assert may_be_hit({0: (200, 299)}, partitions)
    assert not may_be_hit({1: (100, 249)}, partitions)  # the same offsets of another partition


def test_a_file_without_offsets_or_records_expired_at_unknown_offsets_may_be_hit() -> None:
    placed = [PartitionLag(0, 300, 300, 0, 150, [(100, 249)])]
    assert may_be_hit(None, placed)  # a report from before offsets were recorded
    unplaced = [PartitionLag(0, 300, 300, 0, 160, [(100, 249)])]  # 10 beyond the gaps the commit keeps
    assert unplaced[0].expired_unplaced == 10
    assert may_be_hit({0: (0, 99)}, unplaced)


def test_nothing_expired_hits_no_file() -> None:
    assert not may_be_hit(None, [PartitionLag(0, 5, 5, 0)])
    assert not may_be_hit({0: (0, 4)}, [])


def test_the_expired_records_a_file_may_have_lost_are_those_inside_its_offsets() -> None:
    partitions = [
        PartitionLag(0, 300, 300, 0, 150, [(100, 249)]),
        PartitionLag(1, 50, 50, 0, 12, [(0, 9)]),  # and 2 whose offsets the commit no longer holds
    ]
    assert expired_within({0: (200, 299)}, partitions) == 50  # exactly: 200-249
    assert expired_within({0: (0, 99)}, partitions) == 0
    assert expired_within({0: (90, 110), 1: (5, 20)}, partitions) == 11 + 5 + 2  # unplaced: may be its
    assert expired_within(None, partitions) == 162  # no offsets: any of them may be its
