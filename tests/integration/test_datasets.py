"""Datasets end to end on the real Kafka and OpenSearch: producer (``--once``) and consumer together.

A dataset whose records explode the index mapping (more than 1,000 distinct fields) must not cost a
single record of another dataset, and a dataset created while the consumer runs is picked up without a
restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from consumer.service import run as consume
from producer.service import run as produce
from schemas.datasets import Datasets
from schemas.settings import Settings

pytestmark = pytest.mark.integration


def topic_size(settings: Settings, topic: str) -> int:
    consumer = Consumer({**settings.kafka.client_config(), "group.id": f"size-{time.monotonic_ns()}"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        ends = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in metadata.partitions
        ]
        return sum(high - low for low, high in ends)
    finally:
        consumer.close()


def count(client: Any, index: str) -> int:
    if not client.indices.exists(index=index):
        return 0
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part")
    temp.write_bytes(orjson.dumps(data))
    temp.rename(path)


class ConsumerThread:
    def __init__(self, settings: Settings, until_idle_secs: float) -> None:
        self.code: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.code.append(consume(settings, until_idle_secs=until_idle_secs)), daemon=True
        )
        self.thread.start()

    def wait(self, timeout_secs: float) -> int:
        self.thread.join(timeout_secs)
        assert not self.thread.is_alive(), "the consumer did not go idle in time"
        return self.code[0]


@pytest.mark.timeout(300)
def test_a_dataset_that_explodes_its_mapping_costs_no_record_of_another(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50})
    wide, cars, books = unique_name("wide"), unique_name("cars"), unique_name("books")
    # 250 records with 12 fields of their own each: about 3,000 distinct fields, three times the limit
    write_json(
        inbox / wide / "countries.json",
        {f"c{i}": {"name": f"country {i}", "stats": {f"s{i}_{j}": j for j in range(12)}} for i in range(250)},
    )
    write_json(inbox / cars / "cars.json", [{"make": f"m{i % 9}", "hp": 90 + i} for i in range(400)])
    (inbox / books).mkdir()
    lines = b"".join(
        orjson.dumps({"title": f"book {i}", "year": 1900 + i % 120}) + b"\n" for i in range(3000)
    )
    (inbox / books / "books.jsonl").write_bytes(lines)

    assert produce(settings, once=True) == 0
    started = time.monotonic()
    consumer = ConsumerThread(settings, until_idle_secs=3.0)
    assert consumer.wait(240) == 0
    elapsed = time.monotonic() - started

    datasets = Datasets(settings)
    dead = {name: topic_size(settings, datasets.get(name).dead_letter_topic) for name in (wide, cars, books)}
    assert count(opensearch_client, cars) == 400
    assert count(opensearch_client, books) == 3000
    assert dead[cars] == 0 and dead[books] == 0
    indexed_wide = count(opensearch_client, wide)
    assert 0 < indexed_wide < 250  # the field limit was really hit ...
    assert indexed_wide + dead[wide] == 250  # ... and every record is accounted for
    print(f"three datasets in {elapsed:.1f} s; wide: {indexed_wide} indexed, {dead[wide]} dead-lettered")


@pytest.mark.timeout(180)
def test_a_dataset_created_while_the_consumer_runs_is_consumed_without_a_restart(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "first.json").parent.mkdir(parents=True)
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50})
    write_json(inbox / "first.json", [{"n": 1}])
    assert produce(settings, once=True) == 0  # the default dataset's topic exists
    consumer = ConsumerThread(settings, until_idle_secs=40.0)
    index = settings.index_name
    deadline = time.monotonic() + 60
    while count(opensearch_client, index) < 1:  # joined the group and consuming
        assert time.monotonic() < deadline, "the default dataset was not indexed"
        time.sleep(0.2)

    late = unique_name("late")
    write_json(inbox / late / "late.json", [{"n": i} for i in range(10)])
    created = time.monotonic()
    assert produce(settings, once=True) == 0  # creates the dataset's topic now
    while count(opensearch_client, late) < 10:
        assert time.monotonic() - created < 60, "the new dataset was not consumed"
        time.sleep(0.2)
    print(f"new dataset indexed {time.monotonic() - created:.1f} s after its topic was created")
    assert consumer.wait(120) == 0
