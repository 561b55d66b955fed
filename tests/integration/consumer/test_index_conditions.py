"""Nothing slips through: conditions of the index are retried, never dead-lettered, and a dynamic-mapping
race is retried a few times before a document is given up — against the real node.

- the index is closed for 10 s in the middle of a load (``index_closed_exception``, 400 per item);
- GeoJSON-like features whose coordinates start with an integer, on a fresh index: the first document to
  bring the field proposes ``long`` and ``float`` at once and is refused with "mapper [...] cannot be
  changed from type [long] to [float]"; once the field is mapped the same document is accepted;
- a document that keeps being refused that way (nothing else ever maps the field) is retried exactly
  ``MAPPING_RACE_RETRIES`` times, then dead-lettered;
- the index is deleted while the consumer runs, on a node that does not create indices on first write
  (a private node: that is a cluster setting): the consumer creates it again with its body and retries.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.outcome import MAPPING_RACE_RETRIES
from schemas.dlq import DeadLetterHeaders
from schemas.settings import Settings
from spoolbridge.stack.services import OpenSearchNode
from tests.integration.consumer.conftest import (
    ThreadRun,
    committed_offsets,
    end_offsets,
    index_ids,
    live_count,
    make_records,
    produce,
    read_topic,
    topic_size,
    wait_for,
)

pytestmark = pytest.mark.integration

HALF = 20_000
CLOSED_SECS = 10


@pytest.mark.timeout(240)
def test_index_closed_for_ten_seconds_mid_load_dead_letters_nothing_and_indexes_exactly_n(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer")
    settings = settings_factory(
        consumer={"max_events": 500, "retry_initial_backoff_ms": 100, "retry_max_backoff_ms": 2000}
    )
    name = settings.index_name
    records = make_records(2 * HALF)
    produce(settings, records[:HALF], partitions=3)
    run = consume_in_thread(settings, until_idle_secs=3.0)
    wait_for(lambda: live_count(opensearch_client, name) >= 2000, 60, "indexing to start")

    opensearch_client.indices.close(index=name)
    produce(settings, records[HALF:])  # all of these meet the closed index
    time.sleep(CLOSED_SECS)
    assert run.thread.is_alive()
    opensearch_client.indices.open(index=name, wait_for_active_shards=1)

    assert run.wait(180) == 0
    assert set(index_ids(opensearch_client, name)) == {key for key, _ in records}
    assert topic_size(settings, settings.kafka.dead_letter_topic) == 0
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)
    advice = f"index {name} is closed: open it with POST /{name}/_open; retrying"
    assert 1 <= caplog.text.count(advice) <= 2  # once per condition, not once per request
    assert f"index {name} accepts documents again after" in caplog.text
    assert "dead-lettering" not in caplog.text


def _feature(i: int, *, mixed: bool) -> bytes:
    """A GeoJSON feature; ``mixed``: its first coordinate is an integer, the others are not."""
    first = [7, 46.5] if mixed else [7.25, 46.5]
    coordinates = [first, [7.5 + i / 1000, 46.75]]
    return orjson.dumps(
        {
            "type": "Feature",
            "properties": {"n": i},
            "geometry": {"type": "LineString", "coordinates": coordinates},
        }
    )


def test_mapping_race_on_a_fresh_index_is_retried_and_nothing_is_dead_lettered(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer")
    settings = settings_factory()
    produce(settings, [], partitions=3)
    # each partition starts with features whose coordinates start with an integer
    records = [(f"f:{i}", _feature(i, mixed=i < 30)) for i in range(1500)]
    produce(settings, records)

    assert consume_in_thread(settings, until_idle_secs=2.0).wait(90) == 0

    assert "mapping race on a new field" in caplog.text
    assert "mapper [geometry.coordinates] cannot be changed from type" in caplog.text
    assert set(index_ids(opensearch_client, settings.index_name)) == {key for key, _ in records}
    assert topic_size(settings, settings.kafka.dead_letter_topic) == 0
    mapping = opensearch_client.indices.get_mapping(index=settings.index_name)[settings.index_name]
    assert mapping["mappings"]["properties"]["geometry"]["properties"]["coordinates"] == {"type": "float"}


def test_a_mapping_conflict_that_never_settles_is_retried_exactly_n_times_then_dead_lettered(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer")
    settings = settings_factory()
    value = orjson.dumps({"c": [1, 2.5]})  # refused on every attempt while nothing else maps "c"
    produce(settings, [("mixed:1", value)], partitions=1)

    started = time.monotonic()
    assert consume_in_thread(settings, until_idle_secs=1.0).wait(60) == 0

    races = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mapping race")]
    assert len(races) == MAPPING_RACE_RETRIES
    assert [f"attempt={n} " in line for n, line in enumerate(races, 1)] == [True] * MAPPING_RACE_RETRIES
    assert time.monotonic() - started > 0.5 + 1 + 2  # the waits grow from about 1 s (jitter: at least half)
    (letter,) = read_topic(settings, settings.kafka.dead_letter_topic, expect=1)
    assert letter.key() == b"mixed:1" and letter.value() == value
    headers = DeadLetterHeaders.from_kafka_headers(letter.headers())
    assert (headers.status, headers.error_type) == (400, "illegal_argument_exception")
    assert headers.reason == (
        f"still refused after {MAPPING_RACE_RETRIES} retries (a mapping conflict, not a passing race): "
        "mapper [c] cannot be changed from type [long] to [float]"
    )
    assert committed_offsets(settings, 1) == [1]


@pytest.mark.timeout(300)
def test_index_deleted_while_consuming_is_created_again_with_its_body_and_nothing_is_dead_lettered(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    private_node: OpenSearchNode,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer")
    from opensearchpy import OpenSearch

    client: Any = OpenSearch(private_node.url, timeout=30)
    client.cluster.put_settings(body={"persistent": {"action.auto_create_index": "false"}})
    body_file = tmp_path / "index.json"
    body_file.write_text(json.dumps({"mappings": {"properties": {"price": {"type": "keyword"}}}}))
    settings = settings_factory(
        opensearch={"url": private_node.url, "index_body_file": str(body_file)},
        consumer={"retry_initial_backoff_ms": 100, "retry_max_backoff_ms": 1000},
    )
    name = settings.index_name
    produce(settings, [], partitions=2)
    run = consume_in_thread(settings, until_idle_secs=3.0)
    wait_for(lambda: client.indices.exists(index=name), 60, "the consumer to create the index")
    client.indices.delete(index=name)

    records = make_records(2000)
    produce(settings, records)
    assert run.wait(120) == 0

    assert set(index_ids(client, name)) == {key for key, _ in records}
    assert client.indices.get_mapping(index=name)[name]["mappings"]["properties"]["price"] == {
        "type": "keyword"
    }
    assert topic_size(settings, settings.kafka.dead_letter_topic) == 0
    assert committed_offsets(settings, 2) == end_offsets(settings, 2)
    assert f"index {name} does not exist: creating it again with its settings and mappings" in caplog.text
    assert f"index was missing; created it again with its settings and mappings index={name}" in caplog.text
    client.close()
