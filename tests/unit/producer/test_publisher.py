"""The publisher's delivery reports (producer/publisher.py), without Kafka: an acknowledged message gives
only its place (the file version's offsets), a failed one is kept with what the file's report needs."""

from __future__ import annotations

from confluent_kafka import KafkaError

from producer.publish.publisher import Publisher
from schemas.message import HEADER_POSITION
from schemas.settings import KafkaSettings, ProducerSettings


class _Report:
    """What a delivery report hands the callback: a message with its place (and key, value, headers)."""

    def __init__(self, partition: int, offset: int, key: bytes = b"k", position: bytes = b"0") -> None:
        self._partition, self._offset, self._key, self._position = partition, offset, key, position

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return b"{}"

    def headers(self) -> list[tuple[str, bytes]]:
        return [(HEADER_POSITION, self._position)]


def test_each_file_keeps_the_first_and_last_acknowledged_offset_per_partition_and_its_failures() -> None:
    publisher = Publisher(KafkaSettings(bootstrap_servers="127.0.0.1:1"), ProducerSettings())
    first = publisher.begin_file()
    for partition, offset in [(0, 10), (1, 4), (0, 11), (1, 5), (0, 12)]:
        publisher._on_delivery(None, _Report(partition, offset))  # type: ignore[arg-type]
    refused = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    publisher._on_delivery(refused, _Report(2, -1001, b"big", b"7"))  # type: ignore[arg-type]
    assert first.offsets.ranges() == {0: (10, 12), 1: (4, 5)}  # a failure has no place
    assert [(f.key, f.position, f.permanent) for f in first.failures] == [("big", "7", True)]
    second = publisher.begin_file()
    publisher._on_delivery(None, _Report(0, 13))  # type: ignore[arg-type]
    assert second.offsets.as_report() == {"0": [13, 13]} and first.offsets.ranges()[0] == (10, 12)
