"""Where a dataset's topic stands for the consumer group: lag, and the records Kafka's retention removed
before the group indexed them — one reading that ``spoolbridge status`` and the page share.

Per partition, from the group's committed offset (its metadata: the count and the offsets of the gaps
the consumer met, :mod:`consumer.expiry`) and the partition's log start and end: records below the log
start that the group has not reached yet are lost too, and no longer lag (the consumer will never read
them). A file version may have lost records to the expiry when its report's offsets overlap the expired
offsets, or when records expired whose offsets say nothing (a report without offsets, or gaps older than
the commit metadata keeps): :func:`expired_within` counts how many may be its own
(:mod:`schemas.offset_ranges`), and its shortfall is theirs only up to that number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consumer.expiry import expired_from_metadata, expired_ranges_from_metadata
from schemas.offset_ranges import OffsetRange, merged, shared_offsets

__all__ = [
    "PartitionLag",
    "expired_offsets",
    "expired_within",
    "may_be_hit",
    "partition_lag",
    "read_group_lag",
]


@dataclass
class PartitionLag:
    partition: int
    committed: int | None
    end: int
    lag: int
    # records Kafka's retention removed before the group read them: counted by the consumer (its commit
    # metadata), plus those below the log start it has not reached yet
    expired: int = 0
    # the offsets of those records, as far as they are known (inclusive pairs; the consumer's commit
    # metadata keeps its latest gaps only)
    expired_offsets: list[OffsetRange] = field(default_factory=list)

    @property
    def expired_unplaced(self) -> int:
        """Expired records whose offsets are no longer known (older gaps than the metadata keeps)."""
        return max(self.expired - sum(last - first + 1 for first, last in self.expired_offsets), 0)


def partition_lag(partition: int, committed: int, metadata: str | None, low: int, high: int) -> PartitionLag:
    """One partition's figures from the group's commit there (``committed`` < 0: none; its ``metadata``)
    and the partition's log start (``low``) and end (``high``) offsets."""
    offset = committed if committed >= 0 else None
    start = offset if offset is not None else 0
    position = max(start, low)  # the consumer resumes from there
    expired = expired_from_metadata(metadata) + position - start
    gone = expired_ranges_from_metadata(metadata) + ([(start, position - 1)] if position > start else [])
    return PartitionLag(partition, offset, high, high - position, expired, merged(gone))


def read_group_lag(
    client_config: Mapping[str, Any], group: str, topic: str, timeout_secs: float
) -> list[PartitionLag]:
    """Every partition of ``topic`` for ``group`` (``[]`` when the topic does not exist); nothing is
    committed or joined. Raises :class:`confluent_kafka.KafkaException` when Kafka does not answer."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**client_config, "group.id": group})
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_secs).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        partitions = [TopicPartition(topic, number) for number in sorted(metadata.partitions)]
        rows = []
        for tp in consumer.committed(partitions, timeout=timeout_secs):
            watermarks = TopicPartition(topic, tp.partition)
            low, high = consumer.get_watermark_offsets(watermarks, timeout=timeout_secs)
            rows.append(partition_lag(tp.partition, tp.offset, tp.metadata, low, high))
        return rows
    finally:
        consumer.close()


def expired_offsets(partitions: Iterable[PartitionLag]) -> dict[int, list[OffsetRange]]:
    """The known expired offsets, by partition."""
    return {p.partition: p.expired_offsets for p in partitions if p.expired_offsets}


def expired_within(offsets: Mapping[int, OffsetRange] | None, partitions: list[PartitionLag]) -> int:
    """How many of the expired records may be the file version's whose report has ``offsets`` (``None``:
    a report without them): exact where the expired offsets are known (those inside its ranges), and
    counting every expired record that no offsets place (of its partitions; of all, without offsets)."""
    if offsets is None:
        return sum(p.expired for p in partitions)
    found = 0
    for p in partitions:
        own = offsets.get(p.partition)
        if own is not None and p.expired:
            found += shared_offsets(own, p.expired_offsets) + p.expired_unplaced
    return found


def may_be_hit(offsets: Mapping[int, OffsetRange] | None, partitions: list[PartitionLag]) -> bool:
    """Whether records of the file version whose report has ``offsets`` (``None``: a report without them)
    may be among the expired ones (:func:`expired_within`)."""
    return expired_within(offsets, partitions) > 0
