"""Records Kafka's retention removed before this group read them: found, said once, counted.

The consumer's topics are neither compacted nor written in transactions, so a partition's offsets are
contiguous: the only way for the next message fetched to be beyond the next expected offset is that the
records in between were deleted (``retention.ms``/``retention.bytes``, or ``delete-records``) before
this group read them. librdkafka says no more than a line about it when its position falls below the log
start (``auto.offset.reset`` moves it to the earliest offset still there). So the expected next offset of
each owned partition is

- at the first message after an assignment: the group's committed offset (asked of the broker then, once),
  or 0 when the group never committed there — records that expired before the partition was ever read are
  missing for this group too;
- after that: one past the last message fetched (a reset while the consumer lags behind the retention).

A message beyond it reports the gap: one WARNING with dataset, topic, partition, offsets and count, and
``spoolbridge_consumer_records_expired_total``. The partition's expired count so far, and the offsets of
its latest gaps (at most :data:`MAX_RANGES`, joined when adjacent), also ride with the group's committed
offset, as its metadata (``spoolbridge-expired=N;spoolbridge-expired-offsets=100-249,300-310``), so
``spoolbridge status`` can say them after any restart. What those records were is the producer's to say:
its reports record each file version's offsets (:mod:`schemas.offset_ranges`), and ``status`` names the
files whose offsets the gaps overlap; the fix is to drop them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from schemas.offset_ranges import OffsetRange, merged

__all__ = [
    "MAX_RANGES",
    "ExpiryWatch",
    "expired_from_metadata",
    "expired_metadata",
    "expired_ranges_from_metadata",
    "log_expired",
]

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]

_METADATA_KEY = "spoolbridge-expired"
_RANGES_KEY = "spoolbridge-expired-offsets"

#: Gaps per partition whose offsets the commit metadata keeps (the latest ones): the broker's limit on a
#: commit's metadata (``offset.metadata.max.bytes``, 4096 by default) must hold them with room to spare.
#: Older gaps stay in the count; ``status`` says their files are unknown.
MAX_RANGES = 32


class ExpiryWatch:
    """Fed every accepted message's partition and offset (:meth:`check`); calls ``on_expired(tp, first,
    end)`` for every gap. :meth:`forget` on revoke (the next owner checks from the group's commit)."""

    def __init__(
        self,
        consumer: Any,
        on_expired: Callable[[TopicPartitionKey, int, int], None],
        *,
        timeout_secs: float = 5.0,
    ) -> None:
        self._consumer = consumer
        self._on_expired = on_expired
        self._timeout_secs = timeout_secs
        self._next: dict[TopicPartitionKey, int] = {}
        self._expired: dict[TopicPartitionKey, int] = {}  # so far, with the group's commit metadata's
        self._ranges: dict[TopicPartitionKey, list[OffsetRange]] = {}  # the latest gaps' offsets

    def metadata(self, tp: TopicPartitionKey) -> str | None:
        """The commit metadata that keeps the partition's expired count and latest gaps with the group
        (None: none)."""
        expired = self._expired.get(tp)
        return expired_metadata(expired, self._ranges.get(tp, ())) if expired else None

    def check(self, tp: TopicPartitionKey, offset: int) -> None:
        expected = self._next.get(tp)
        if expected is None:
            expected = self._group_position(tp)
        if expected is not None and offset > expected:
            self._expired[tp] = self._expired.get(tp, 0) + offset - expected
            self._ranges[tp] = merged([*self._ranges.get(tp, ()), (expected, offset - 1)])[-MAX_RANGES:]
            self._on_expired(tp, expected, offset)
        self._next[tp] = offset + 1

    def forget(self, partitions: Iterable[TopicPartitionKey]) -> None:
        for tp in partitions:
            self._next.pop(tp, None)
            self._expired.pop(tp, None)
            self._ranges.pop(tp, None)

    def _group_position(self, tp: TopicPartitionKey) -> int | None:
        from confluent_kafka import KafkaException, TopicPartition

        try:
            (answer,) = self._consumer.committed([TopicPartition(*tp)], timeout=self._timeout_secs)
        except KafkaException as exc:  # unknown this time: this partition is not checked until its next gap
            log.debug("committed offset unavailable topic=%s partition=%d error=%s", *tp, exc)
            return None
        if answer.error is not None:
            return None
        self._expired[tp] = expired_from_metadata(answer.metadata)
        self._ranges[tp] = expired_ranges_from_metadata(answer.metadata)
        return int(answer.offset) if answer.offset >= 0 else 0


def expired_metadata(count: int, ranges: Iterable[OffsetRange] = ()) -> str:
    """A commit's metadata: the partition's expired count, and the offsets of its latest gaps."""
    offsets = ",".join(f"{first}-{last}" for first, last in ranges)
    return f"{_METADATA_KEY}={count}" + (f";{_RANGES_KEY}={offsets}" if offsets else "")


def expired_from_metadata(metadata: str | None) -> int:
    """The expired count a commit's metadata carries (0 when it carries none)."""
    value = _field(metadata, _METADATA_KEY)
    return int(value) if value is not None and value.isdigit() else 0


def expired_ranges_from_metadata(metadata: str | None) -> list[OffsetRange]:
    """The gaps' offsets a commit's metadata carries (inclusive pairs; [] when none, or not readable)."""
    value = _field(metadata, _RANGES_KEY)
    ranges: list[OffsetRange] = []
    for text in (value or "").split(","):
        first, _, last = text.partition("-")
        if not (first.isdigit() and last.isdigit() and int(first) <= int(last)):
            return []
        ranges.append((int(first), int(last)))
    return ranges


def _field(metadata: str | None, key: str) -> str | None:
    for part in (metadata or "").split(";"):
        name, _, value = part.partition("=")
        if name == key:
            return value
    return None


def log_expired(dataset: str, tp: TopicPartitionKey, first: int, end: int) -> None:
    """The one WARNING for a gap (``end`` is the first offset that was still there)."""
    log.warning(
        "event=records_expired dataset=%s topic=%s partition=%d offsets=%d-%d records=%d: records expired "
        "from Kafka (the topic's retention) before they were indexed; drop the files that produced them "
        "again (`spoolbridge status` names the files)",
        dataset, tp[0], tp[1], first, end - 1, end - first,
    )  # fmt: skip
