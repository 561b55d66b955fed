"""Which files' offsets the expired offsets overlap (schemas/offset_ranges.py)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.offset_ranges import OffsetSpan, merged, overlaps, report_offsets


def test_a_span_keeps_the_first_and_last_offset_per_partition_in_any_delivery_order() -> None:
    span = OffsetSpan()
    for partition, offset in [(1, 7), (0, 3), (1, 5), (0, 4), (1, 9), (2, -1001)]:  # -1001: no offset
        span.add(partition, offset)
    assert span.ranges() == {0: (3, 4), 1: (5, 9)}
    assert span.as_report() == {"0": [3, 4], "1": [5, 9]}
    tombstones = OffsetSpan()
    tombstones.add(0, 10)
    span.include(tombstones)
    assert span.ranges() == {0: (3, 10), 1: (5, 9)}


@pytest.mark.parametrize(
    ("gone", "hit"),
    [
        ({0: [(10, 19)]}, True),  # inside
        ({0: [(0, 10)]}, True),  # the first offset
        ({0: [(20, 30)]}, True),  # the last offset
        ({0: [(0, 9), (21, 40)]}, False),  # just before and just after
        ({1: [(10, 20)]}, False),  # another partition
        ({}, False),
    ],
)
def test_a_version_is_hit_when_an_expired_range_of_its_partition_shares_an_offset(
    gone: dict[int, list[tuple[int, int]]], hit: bool
) -> None:
    assert overlaps({0: (10, 20), 2: (5, 5)}, gone) is hit


def test_ranges_that_touch_or_overlap_are_joined() -> None:
    assert merged([(10, 14), (0, 3), (4, 6), (12, 20), (30, 30)]) == [(0, 6), (10, 20), (30, 30)]


@pytest.mark.parametrize(
    ("report", "offsets"),
    [
        ({"offsets": {"0": [3, 4], "2": [0, 0]}}, {0: (3, 4), 2: (0, 0)}),
        ({"offsets": {}}, {}),  # a version that sent nothing
        ({}, None),  # a report from before offsets were recorded
        ({"offsets": {"0": [4, 3]}}, None),
        ({"offsets": {"x": [1, 2]}}, None),
        ({"offsets": {"0": [1]}}, None),
        ({"offsets": [[0, 1]]}, None),
    ],
)
def test_a_reports_offsets_are_read_back_or_unknown(report: dict[str, Any], offsets: Any) -> None:
    assert report_offsets(report) == offsets
