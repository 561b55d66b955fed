"""Retryable item failures against the real node: an index write block (403 cluster_block_exception) is
retried until it is lifted — even with ``max_retries`` set, since it is the index's condition, not the
documents' — and with ``max_retries`` a failure of the documents' own (500 from an ingest pipeline) ends in
the dead-letter topic."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from schemas.dlq import DeadLetterHeaders
from schemas.settings import Settings
from tests.integration.consumer.conftest import (
    ThreadRun,
    committed_offsets,
    index_ids,
    produce,
    read_topic,
    topic_size,
)

pytestmark = pytest.mark.integration

RECORDS = [(f"r:{i}", orjson.dumps({"i": i})) for i in range(50)]


def _blocked_index(client: Any, name: str) -> None:
    client.indices.create(index=name, body={"settings": {"number_of_replicas": 0, "blocks.write": True}})


def test_write_block_is_retried_without_commit_until_lifted_even_with_max_retries(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer.retries")
    settings = settings_factory(
        consumer={"max_retries": 1, "retry_initial_backoff_ms": 50, "retry_max_backoff_ms": 300}
    )
    _blocked_index(opensearch_client, settings.index_name)
    produce(settings, RECORDS, partitions=1)
    run = consume_in_thread(settings, until_idle_secs=1.5)

    time.sleep(4)  # 50-300 ms apart: far more than max_retries=1 retries
    assert run.thread.is_alive()
    name = settings.index_name
    advice = f"index {name} is blocked (index [{name}] blocked by: [FORBIDDEN/8/index write (api)])"
    assert advice in caplog.text and '"index.blocks.write": false' in caplog.text
    assert caplog.text.count(advice) == 1  # said once, not once per retry
    assert committed_offsets(settings, 1) == [-1001]  # nothing committed: OFFSET_INVALID
    opensearch_client.indices.put_settings(index=name, body={"index.blocks.write": False})

    assert run.wait(60) == 0
    assert set(index_ids(opensearch_client, name)) == {key for key, _ in RECORDS}
    assert committed_offsets(settings, 1) == [len(RECORDS)]
    assert topic_size(settings, settings.kafka.dead_letter_topic) == 0
    assert f"index {name} accepts documents again after" in caplog.text


@pytest.fixture
def failing_pipeline(opensearch_admin_client: Any, unique_name: Callable[[str], str]) -> Iterator[str]:
    """An ingest pipeline that fails every document with HTTP 500 (``fail`` processor); made by the admin
    (a cluster right the stack's least-privilege user has not)."""
    name = unique_name("fail")
    body = {"processors": [{"fail": {"message": "no way"}}]}
    opensearch_admin_client.ingest.put_pipeline(id=name, body=body)
    yield name
    opensearch_admin_client.ingest.delete_pipeline(id=name)


def test_documents_go_to_the_dead_letter_topic_once_max_retries_is_spent(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
    failing_pipeline: str,
) -> None:
    settings = settings_factory(
        consumer={"max_retries": 2, "retry_initial_backoff_ms": 50, "retry_max_backoff_ms": 100}
    )
    opensearch_client.indices.create(
        index=settings.index_name,
        body={"settings": {"number_of_replicas": 0, "default_pipeline": failing_pipeline}},
    )
    produce(settings, RECORDS, partitions=1)

    assert consume_in_thread(settings, until_idle_secs=1.5).wait(60) == 0

    letters = read_topic(settings, settings.kafka.dead_letter_topic, expect=len(RECORDS))
    assert sorted(m.key().decode() for m in letters) == sorted(key for key, _ in RECORDS)
    headers = DeadLetterHeaders.from_kafka_headers(letters[0].headers())
    assert headers.error_type == "retries_exhausted"
    assert headers.status == 500
    assert headers.reason == "gave up after 2 retries: fail_processor_exception: no way"
    assert committed_offsets(settings, 1) == [len(RECORDS)]
