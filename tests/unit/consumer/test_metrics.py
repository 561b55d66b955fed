"""The consumer's metric bookkeeping (consumer/metrics.py): one call per event, per dataset."""

from __future__ import annotations

from typing import Any, cast

import pytest
from confluent_kafka import Message, TopicPartition
from prometheus_client import CollectorRegistry

from consumer.bulk import build_bulk
from consumer.dlq import DeadLetter
from consumer.metrics import ConsumerMeter, ConsumerMetrics, reason_class
from consumer.send import BulkResponse, RequestFailure
from schemas.datasets import Datasets
from schemas.settings import load_settings

TOPIC = "shop"


class FakeConsumer:
    """The two calls the lag meter makes: cached watermarks and the group's committed offsets."""

    def __init__(self, ends: dict[tuple[str, int], int]) -> None:
        self.ends = ends

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        return 0, self.ends[(tp.topic, tp.partition)]

    def committed(self, partitions: list[TopicPartition], timeout: float = 0) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, -1001) for tp in partitions]


def msg(topic: str, offset: int, value: bytes | None = b'{"a":1}', partition: int = 0) -> Message:
    return Message(topic=topic, partition=partition, offset=offset, key=f"id{offset}".encode(), value=value)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def meter_for(registry: CollectorRegistry, consumer: Any = None) -> ConsumerMeter:
    datasets = Datasets(load_settings({"kafka": {"topic": TOPIC}}))
    return ConsumerMeter(datasets, cast(Any, consumer or FakeConsumer({})), ConsumerMetrics(registry))


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_fetched_indexed_and_deleted_are_counted_per_dataset(registry: CollectorRegistry) -> None:
    meter = meter_for(registry)
    messages = [msg(TOPIC, 0), msg(f"{TOPIC}.games", 0), msg(f"{TOPIC}.games", 1), msg(f"{TOPIC}.games", 2)]
    meter.fetched(messages, accepted=4)
    request, _ = build_bulk([msg(f"{TOPIC}.games", 1), msg(f"{TOPIC}.games", 2, value=None)])
    meter.done(request, [(m, a) for m, a in zip(request.messages, request.actions, strict=True)])
    assert meter.counters.fetched == 4 and meter.counters.indexed == 1 and meter.counters.deleted == 1
    assert value(registry, "spoolbridge_consumer_messages_fetched_total", dataset="(default)") == 1
    assert value(registry, "spoolbridge_consumer_messages_fetched_total", dataset="games") == 3
    assert value(registry, "spoolbridge_consumer_documents_indexed_total", dataset="games") == 1
    assert value(registry, "spoolbridge_consumer_documents_deleted_total", dataset="games") == 1
    assert (
        value(registry, "spoolbridge_consumer_paused_partitions", dataset="games") == 0
    )  # shown from the start


def test_a_request_is_in_flight_until_answered_and_its_size_and_time_are_observed(
    registry: CollectorRegistry,
) -> None:
    meter = meter_for(registry)
    request, _ = build_bulk([msg(TOPIC, 0), msg(TOPIC, 1)])
    meter.sent(request)
    assert value(registry, "spoolbridge_consumer_bulk_requests_in_flight", dataset="(default)") == 1
    assert value(registry, "spoolbridge_consumer_bulk_request_bytes_sum", dataset="(default)") == len(
        request.body
    )
    failure = RequestFailure(None, "ConnectionTimeout", "timed out")
    meter.answered(request, BulkResponse(failure=failure, took_secs=0.3))
    assert value(registry, "spoolbridge_consumer_bulk_requests_in_flight", dataset="(default)") == 0
    assert value(registry, "spoolbridge_consumer_bulk_request_seconds_sum", dataset="(default)") == 0.3
    assert (
        value(registry, "spoolbridge_consumer_bulk_request_seconds_bucket", dataset="(default)", le="0.5")
        == 1
    )
    meter.retried(request, "transient")
    assert meter.counters.retried == 2 and meter.counters.requests == 1
    assert value(registry, "spoolbridge_consumer_retries_total", dataset="(default)", kind="transient") == 2


@pytest.mark.parametrize(
    ("error_type", "status", "expected"),
    [
        ("invalid_json", None, "invalid_message"),
        ("missing_key", None, "invalid_message"),
        ("retries_exhausted", 503, "retries_exhausted"),
        ("mapper_parsing_exception", 400, "mapping"),
        ("document_parsing_exception", 400, "mapping"),
        ("strict_dynamic_mapping_exception", 400, "mapping"),
        ("illegal_argument_exception", 400, "mapping"),
        ("http_413", 413, "too_large"),
        ("security_exception", 403, "other"),
    ],
)
def test_dead_letter_reasons_fall_into_few_classes(
    error_type: str, status: int | None, expected: str
) -> None:
    assert reason_class(error_type, status) == expected


def test_dead_letters_are_counted_by_dataset_and_reason_when_acknowledged(
    registry: CollectorRegistry,
) -> None:
    meter = meter_for(registry)
    letter = DeadLetter(msg(f"{TOPIC}.games", 5), "mapper_parsing_exception", "failed to parse", 400,
                        lambda: None, f"{TOPIC}.games.dlq", "games")  # fmt: skip
    meter.dead_lettered(letter)
    meter.dead_lettered(letter)
    assert value(registry, "spoolbridge_consumer_dead_letters_total", dataset="games", reason="mapping") == 2


def test_paused_partitions_per_dataset_go_back_to_zero(registry: CollectorRegistry) -> None:
    meter = meter_for(registry)
    meter.paused({(TOPIC, 0), (TOPIC, 1), (f"{TOPIC}.games", 0)})
    assert value(registry, "spoolbridge_consumer_paused_partitions", dataset="(default)") == 2
    meter.paused({(f"{TOPIC}.games", 0)})
    assert value(registry, "spoolbridge_consumer_paused_partitions", dataset="(default)") == 0
    assert value(registry, "spoolbridge_consumer_paused_partitions", dataset="games") == 1


def test_lag_is_a_series_per_owned_partition_and_revoked_ones_disappear(registry: CollectorRegistry) -> None:
    ends = {(TOPIC, 0): 10, (TOPIC, 1): 4}
    meter = meter_for(registry, FakeConsumer(ends))
    committed = {(TOPIC, 0): 7}
    assert meter.lag(ends, committed.get) == 3 + 4
    assert (
        value(registry, "spoolbridge_consumer_lag_messages", dataset="(default)", topic=TOPIC, partition="0")
        == 3
    )
    assert (
        value(registry, "spoolbridge_consumer_lag_messages", dataset="(default)", topic=TOPIC, partition="1")
        == 4
    )
    meter.forget({(TOPIC, 1)})
    assert (
        value(registry, "spoolbridge_consumer_lag_messages", dataset="(default)", topic=TOPIC, partition="1")
        is None
    )
    meter.committed({(TOPIC, 0)})
    assert (
        value(registry, "spoolbridge_consumer_last_commit_timestamp_seconds", dataset="(default)") or 0
    ) > 1e9
