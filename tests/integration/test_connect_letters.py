"""Kafka Connect's dead letters on the real Kafka: listed by original dataset and reason, and replayed to
the original dataset's topic with the original key, value and headers.

The letter is written exactly as Connect's ``DeadLetterQueueReporter`` writes one (the original record,
then its ``__connect.errors.*`` headers) to the connector's own topic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from schemas.settings import Settings
from spoolbridge.connect_dead_letters import (
    count_connect_letters,
    list_connect_letters,
    replay_connect_letters,
)
from tests.conftest import create_topic

pytestmark = pytest.mark.integration

REFUSED = (
    "Encountered a version conflict when executing batch 1 of 2 records. Reporting this error to the "
    "errant record reporter and will not index record. Rest status: BAD_REQUEST, Action id: a.json:1, "
    "Error message: OpenSearchException[OpenSearch exception [type=mapper_parsing_exception, "
    "reason=failed to parse field [price] of type [long] in document with id 'a.json:1'. Preview of "
    "field's value: 'free']]"
)


def _connect_headers(topic: str, offset: int) -> list[tuple[str, str | bytes | None]]:
    return [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", b"0"),
        ("__connect.errors.offset", str(offset).encode()),
        ("__connect.errors.connector.name", b"sink"),
        ("__connect.errors.task.id", b"0"),
        ("__connect.errors.stage", b"TASK_PUT"),
        ("__connect.errors.class.name", b"io.aiven.kafka.connect.opensearch.OpensearchSinkTask"),
        ("__connect.errors.exception.class.name", b"java.lang.Exception"),
        ("__connect.errors.exception.message", REFUSED.encode()),
        ("__connect.errors.exception.stacktrace", b"java.lang.Exception: ..."),
    ]


def _read_all(settings: Settings, topic: str) -> list[Any]:
    consumer = Consumer({**settings.kafka.client_config(), "group.id": f"read-{time.monotonic_ns()}"})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, 0)])
        messages: list[Any] = []
        while len(messages) < high:
            batch = consumer.consume(high - len(messages), timeout=10)
            assert batch, f"{topic}: {len(messages)} of {high}"
            messages += [m for m in batch if m.error() is None]
        return messages
    finally:
        consumer.close()


@pytest.mark.timeout(90)
def test_a_connect_letter_is_listed_under_its_dataset_and_replayed_to_its_topic(
    settings_factory: Callable[..., Settings], unique_name: Callable[[str], str], kafka_admin: Any
) -> None:
    settings = settings_factory()
    games, cars = f"{settings.kafka.topic}.games", f"{settings.kafka.topic}.cars"
    connect_dlq = f"{unique_name('sink')}.dlq"
    for topic in (games, cars, connect_dlq):
        create_topic(kafka_admin, topic)
    original: list[tuple[str, str | bytes | None]] = [
        ("spoolbridge-source", b"games/a.json"),
        ("spoolbridge-position", b"1"),
    ]
    producer = Producer(settings.kafka.client_config())
    for topic, offset in ((games, 7), (cars, 3)):  # the same id in two datasets: two letters
        value = b'{"price": "free", "source": "games/a.json"}'
        producer.produce(
            connect_dlq, key=b"a.json:1", value=value, headers=original + _connect_headers(topic, offset)
        )
    assert producer.flush(10) == 0

    groups = list_connect_letters(settings, connect_dlq)
    assert [(g.dataset, g.count, g.first_id) for g in groups] == [
        ("cars", 1, "a.json:1"),
        ("games", 1, "a.json:1"),
    ]
    assert groups[1].reason == "type conflict on field 'price' (mapper_parsing_exception)"
    assert "datasets.games.index_body_file" in groups[1].fix

    assert [
        (r.dataset, r.replayed) for r in replay_connect_letters(settings, connect_dlq, dataset="games")
    ] == [("games", 1)]
    (copy,) = _read_all(settings, games)
    assert (copy.key(), copy.value()) == (b"a.json:1", b'{"price": "free", "source": "games/a.json"}')
    assert copy.headers() == [*original, ("spoolbridge-replayed-from", f"{connect_dlq}/0/0".encode())]
    assert _read_all(settings, cars) == []  # only the dataset asked for

    after = list_connect_letters(settings, connect_dlq)
    assert [(g.dataset, g.count, g.replayed) for g in after] == [("cars", 1, 0), ("games", 0, 1)]
    again = replay_connect_letters(settings, connect_dlq, dataset="games")  # resumes: nothing new
    assert [(r.dataset, r.replayed) for r in again] == []

    # status --connect-dlq: each dataset's own, by source file (the header Connect kept)
    games_ledger, cars_ledger = (count_connect_letters(settings, connect_dlq, t) for t in (games, cars))
    assert (games_ledger.outstanding["games/a.json"], games_ledger.replayed["games/a.json"]) == (0, 1)
    assert (cars_ledger.outstanding["games/a.json"], cars_ledger.replayed["games/a.json"]) == (1, 0)
