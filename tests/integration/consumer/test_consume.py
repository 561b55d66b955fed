"""The consumer against the real broker and node: counts, sources, tombstones, duplicates, dead letters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from schemas.dlq import DeadLetterHeaders
from schemas.settings import Settings
from tests.integration.consumer.conftest import (
    ThreadRun,
    committed_offsets,
    end_offsets,
    index_ids,
    make_records,
    produce,
    read_topic,
)

pytestmark = pytest.mark.integration


def test_n_records_become_exactly_n_documents_with_source_equal_to_the_value(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
) -> None:
    settings = settings_factory(consumer={"max_events": 300, "concurrent_requests": 2})
    records = make_records(2000)
    produce(settings, records, partitions=3)

    assert consume_in_thread(settings).wait(60) == 0

    docs = index_ids(opensearch_client, settings.index_name)
    assert len(docs) == len(records)
    assert docs == {key: orjson.loads(value) for key, value in records if value is not None}
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)


def test_same_records_produced_twice_and_tombstones_converge_to_one_document_per_id(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
) -> None:
    settings = settings_factory(consumer={"max_events": 100})
    records = make_records(500)
    produce(settings, records, partitions=2)
    produce(settings, records)
    produce(settings, [(records[0][0], None), ("never-existed", None)])  # deletes, one of a missing id

    assert consume_in_thread(settings).wait(60) == 0

    docs = index_ids(opensearch_client, settings.index_name)
    assert len(docs) == 499
    assert records[0][0] not in docs


def test_mapping_conflict_and_bad_messages_go_to_the_dead_letter_topic_and_offsets_move_past_them(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
) -> None:
    settings = settings_factory(consumer={"max_events": 50})
    good = [(f"ok:{i}", orjson.dumps({"price": i, "n": i})) for i in range(200)]
    conflicting = [(f"bad:{i}", orjson.dumps({"price": {"amount": i}})) for i in range(5)]
    malformed = [("broken:0", b'{"price": '), ("array:0", b"[1, 2]")]
    produce(settings, good[:100], partitions=2)
    produce(settings, [*conflicting, *malformed])
    produce(settings, good[100:])

    assert consume_in_thread(settings).wait(60) == 0

    assert set(index_ids(opensearch_client, settings.index_name)) == {key for key, _ in good}
    letters = read_topic(settings, settings.kafka.dead_letter_topic, expect=7)
    by_key = {message.key().decode(): message for message in letters}
    assert set(by_key) == {key for key, _ in conflicting + malformed}
    for key, value in conflicting + malformed:
        message = by_key[key]
        assert message.value() == value
        headers = DeadLetterHeaders.from_kafka_headers(message.headers())
        assert headers.topic == settings.kafka.topic
        assert headers.index == settings.index_name
        assert headers.reason
        if key.startswith("bad:"):
            assert (headers.status, headers.error_type) == (400, "mapper_parsing_exception")
        else:
            assert headers.status is None
            assert headers.error_type in {"invalid_json", "not_an_object"}
    assert committed_offsets(settings, 2) == end_offsets(settings, 2)
