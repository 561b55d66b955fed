"""Retryable item failures against the real node: an index write block (403 cluster_block_exception) is
retried until it is lifted, and with ``max_retries`` the documents end in the dead-letter topic."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from schemas.dlq import DeadLetterHeaders
from schemas.settings import Settings
from tests.integration.consumer.conftest import ThreadRun, committed_offsets, index_ids, produce, read_topic

pytestmark = pytest.mark.integration

RECORDS = [(f"r:{i}", orjson.dumps({"i": i})) for i in range(50)]


def _blocked_index(client: Any, name: str) -> None:
    client.indices.create(index=name, body={"settings": {"number_of_replicas": 0, "blocks.write": True}})


def test_write_block_is_retried_without_commit_until_lifted(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_factory(consumer={"retry_initial_backoff_ms": 50, "retry_max_backoff_ms": 300})
    _blocked_index(opensearch_client, settings.index_name)
    produce(settings, RECORDS, partitions=1)
    run = consume_in_thread(settings, until_idle_secs=1.5)

    time.sleep(4)
    assert run.thread.is_alive()
    assert "cluster_block_exception" in caplog.text and "bulk retry scheduled" in caplog.text
    assert committed_offsets(settings, 1) == [-1001]  # nothing committed: OFFSET_INVALID
    opensearch_client.indices.put_settings(index=settings.index_name, body={"index.blocks.write": False})

    assert run.wait(60) == 0
    assert set(index_ids(opensearch_client, settings.index_name)) == {key for key, _ in RECORDS}
    assert committed_offsets(settings, 1) == [len(RECORDS)]


def test_documents_go_to_the_dead_letter_topic_once_max_retries_is_spent(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
) -> None:
    settings = settings_factory(
        consumer={"max_retries": 2, "retry_initial_backoff_ms": 50, "retry_max_backoff_ms": 100}
    )
    _blocked_index(opensearch_client, settings.index_name)
    produce(settings, RECORDS, partitions=1)

    assert consume_in_thread(settings, until_idle_secs=1.5).wait(60) == 0

    letters = read_topic(settings, settings.kafka.dead_letter_topic, expect=len(RECORDS))
    assert sorted(m.key().decode() for m in letters) == sorted(key for key, _ in RECORDS)
    headers = DeadLetterHeaders.from_kafka_headers(letters[0].headers())
    assert headers.error_type == "retries_exhausted"
    assert headers.status == 403
    assert "gave up after 2 retries" in headers.reason and "cluster_block_exception" in headers.reason
    assert committed_offsets(settings, 1) == [len(RECORDS)]
