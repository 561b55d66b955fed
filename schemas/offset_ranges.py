"""Offset ranges: which offsets of a topic a file version's records went to, and which ones expired.

The producer keeps, per partition, the first and the last offset its delivery reports gave for a file
version's messages (:class:`OffsetSpan`: a minimum and a maximum per partition, nothing per record) and
writes them into the file's report (``"offsets": {"<partition>": [first, last]}``). Files are produced
one at a time, so a version's messages in a partition lie between those two offsets, and only messages
of another writer (a ``dlq replay``'s copies) can lie between them too. The consumer and ``status`` say
which offsets expired from Kafka (inclusive ``(first, last)`` pairs per partition); a version was hit
when one of its ranges overlaps one of those (:func:`overlaps`).

A report written before ranges were recorded has none (:func:`report_offsets` answers ``None``): its
file cannot be placed, and is said to be unknown rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["OffsetRange", "OffsetSpan", "merged", "overlaps", "report_offsets", "shared_offsets"]

#: An inclusive ``(first, last)`` pair of offsets in one partition.
OffsetRange = tuple[int, int]


class OffsetSpan:
    """The first and last offset per partition of the messages fed to :meth:`add` (a delivery report's
    partition and offset each)."""

    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}

    def add(self, partition: int, offset: int) -> None:
        if offset < 0:  # no offset known (a delivery without one): nothing to place
            return
        if offset < self.first.get(partition, offset + 1):
            self.first[partition] = offset
        if offset > self.last.get(partition, -1):
            self.last[partition] = offset

    def include(self, other: OffsetSpan) -> None:
        """Widen this span to cover ``other``'s offsets too."""
        for partition, (first, last) in other.ranges().items():
            self.add(partition, first)
            self.add(partition, last)

    def ranges(self) -> dict[int, OffsetRange]:
        return {p: (first, self.last[p]) for p, first in sorted(self.first.items())}

    def as_report(self) -> dict[str, list[int]]:
        """The report's ``offsets`` field (JSON object keys are strings)."""
        return {str(p): [first, last] for p, (first, last) in self.ranges().items()}


def report_offsets(data: Mapping[str, Any]) -> dict[int, OffsetRange] | None:
    """The ``offsets`` of a report read back; ``None`` when it has none (written before ranges were
    recorded) or they are not readable."""
    found = data.get("offsets")
    if not isinstance(found, dict):
        return None
    ranges: dict[int, OffsetRange] = {}
    for partition, pair in found.items():
        if not (
            isinstance(partition, str) and partition.isdigit() and isinstance(pair, list) and len(pair) == 2
        ):
            return None
        first, last = pair
        if type(first) is not int or type(last) is not int or not 0 <= first <= last:
            return None
        ranges[int(partition)] = (first, last)
    return ranges


def overlaps(file_ranges: Mapping[int, OffsetRange], expired: Mapping[int, Iterable[OffsetRange]]) -> bool:
    """Whether a file version's ranges share an offset with an expired range of the same partition."""
    for partition, (first, last) in file_ranges.items():
        for gone_first, gone_last in expired.get(partition, ()):
            if first <= gone_last and gone_first <= last:
                return True
    return False


def shared_offsets(file_range: OffsetRange, ranges: Iterable[OffsetRange]) -> int:
    """How many offsets of ``file_range`` the (disjoint) ``ranges`` of the same partition hold."""
    first, last = file_range
    return sum(
        max(min(last, other_last) - max(first, other_first) + 1, 0) for other_first, other_last in ranges
    )


def merged(ranges: Iterable[OffsetRange]) -> list[OffsetRange]:
    """``ranges`` sorted, with overlapping and adjacent ones joined."""
    out: list[OffsetRange] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out
