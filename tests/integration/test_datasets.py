"""Datasets end to end on the real Kafka and OpenSearch: producer (``--once``) and consumer together.

A dataset whose records explode the index mapping (more than 1,000 distinct fields) must not cost a
single record of another dataset, and a dataset created while the consumer runs is picked up without a
restart.
"""

from __future__ import annotations

import signal
import subprocess
import sys
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
from spoolbridge.dead_letters import list_dead_letters, replay
from spoolbridge.status import collect_status
from tests.conftest import Endpoints

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


def write_wide(inbox: Path, dataset: str) -> None:
    """250 records with 12 fields of their own each: about 3,000 distinct fields, three times the limit."""
    write_json(
        inbox / dataset / "countries.json",
        {f"c{i}": {"name": f"country {i}", "stats": {f"s{i}_{j}": j for j in range(12)}} for i in range(250)},
    )


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
    write_wide(inbox, wide)
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


@pytest.mark.timeout(300)
def test_dead_letters_are_listed_with_a_fix_and_replayed_once_the_index_body_is_fixed(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wide = unique_name("wide")
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50})
    write_wide(inbox, wide)
    assert produce(settings, once=True) == 0
    assert ConsumerThread(settings, until_idle_secs=3.0).wait(240) == 0
    indexed = count(opensearch_client, wide)
    assert 0 < indexed < 250

    groups = list_dead_letters(settings, wide)
    assert [(g.dataset, g.count) for g in groups] == [(wide, 250 - indexed)]
    assert groups[0].reason.startswith("field limit")
    assert "index.mapping.total_fields.limit" in groups[0].fix
    assert groups[0].first_id is not None and groups[0].first_id.startswith(f"{wide}/countries.json:")

    body = tmp_path / "wide-index.json"
    body.write_text('{"settings": {"index.mapping.total_fields.limit": 5000}}')
    fixed = settings_factory(
        kafka={"topic": settings.kafka.topic},
        consumer={"group": settings.consumer.group},
        producer={"inbox": inbox},
        datasets={wide: {"index_body_file": body}},
    )
    assert [r.replayed for r in replay(fixed, dataset=wide, dry_run=True)] == [250 - indexed]
    results = replay(fixed, dataset=wide)
    assert [r.replayed for r in results] == [250 - indexed]
    assert results[0].index_changes == [f"index {wide}: index.mapping.total_fields.limit = 5000"]
    assert ConsumerThread(fixed, until_idle_secs=3.0).wait(240) == 0
    assert count(opensearch_client, wide) == 250

    assert [r.replayed for r in replay(fixed, dataset=wide, dry_run=True)] == [0]  # from where it stopped
    again = replay(fixed, dataset=wide)  # resumes after what it replayed: nothing new
    assert [r.replayed for r in again] == [0]
    assert count(opensearch_client, wide) == 250

    settled = list_dead_letters(fixed, wide)  # no longer outstanding, still in the history
    assert [(g.count, g.replayed) for g in settled] == [(0, 250 - indexed)]
    (row,) = collect_status(fixed, wide).datasets[0].sources
    assert (row.indexed, row.dead_lettered, row.replayed) == (250, 0, 250 - indexed)


@pytest.mark.timeout(300)
def test_a_replay_killed_with_sigkill_and_run_again_leaves_one_document_per_id(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    endpoints: Endpoints,
    tmp_path: Path,
) -> None:
    from confluent_kafka import Producer

    from schemas.dlq import DeadLetterHeaders

    name = unique_name("replayed")
    settings = settings_factory(producer={"inbox": tmp_path / "inbox"})
    dataset = Datasets(settings).get(name)
    n = 100_000
    producer = Producer({**settings.kafka.client_config(), "linger.ms": 50})
    from producer.publish.publisher import ensure_topics

    ensure_topics(settings.kafka, (dataset.topic, dataset.dead_letter_topic))
    letter_headers = DeadLetterHeaders.model_validate(
        {"error_type": "es_rejected_execution_exception", "reason": "queue full", "status": 429,
         "topic": dataset.topic, "partition": 0, "offset": 0, "index": dataset.index,
         "failed_at": "2026-01-01T00:00:00Z"}
    ).to_kafka_headers()  # fmt: skip
    headers: list[tuple[str, str | bytes | None]] = [*letter_headers]
    for i in range(n):
        while True:
            try:
                producer.produce(
                    dataset.dead_letter_topic, orjson.dumps({"n": i}), f"id-{i}", headers=headers
                )
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0

    env = {**endpoints.env(), "SPOOLBRIDGE_KAFKA__TOPIC": settings.kafka.topic,
           "SPOOLBRIDGE_CONSUMER__GROUP": settings.consumer.group}  # fmt: skip
    command = [sys.executable, "-m", "spoolbridge.cli", "dlq", "replay", "--dataset", name]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while topic_size(settings, dataset.topic) < n // 10:
            assert first.poll() is None, "the replay finished before it could be killed: make n larger"
            assert time.monotonic() < deadline, "the replay did not start"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(30)
    killed_at = topic_size(settings, dataset.topic)
    assert killed_at < n, "killed too late to prove anything"

    done = subprocess.run(command, check=False, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert topic_size(settings, dataset.topic) >= n  # at most the last batch was published twice
    assert ConsumerThread(settings, until_idle_secs=3.0).wait(240) == 0
    assert count(opensearch_client, name) == n
    print(f"killed after {killed_at} of {n}; topic holds {topic_size(settings, dataset.topic)}")


@pytest.mark.timeout(240)
def test_a_dataset_whose_id_field_repeats_counts_the_overwritten_records_and_settles(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    from spoolbridge.status import collect_status

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    matches = unique_name("matches")
    settings = settings_factory(
        producer={"inbox": inbox, "settle_ms": 50}, datasets={matches: {"id_field": "team"}}
    )
    teams = [f"team {i}" for i in range(116)]
    results = [{"team": teams[i % 116], "goals": i % 7, "match": i} for i in range(6508)]
    write_json(inbox / matches / "results.json", results)
    assert produce(settings, once=True) == 0
    assert ConsumerThread(settings, until_idle_secs=3.0).wait(180) == 0

    dataset = Datasets(settings).get(matches)
    assert count(opensearch_client, dataset.index) == 116
    manifest = orjson.loads((inbox / "done" / matches / "results.json.manifest.json").read_bytes())
    assert (manifest["records"], manifest["superseded_in_file"]) == (6508, 6508 - 116)
    report = collect_status(settings, only=matches)
    row = report.datasets[0].sources[0]
    assert (row.produced, row.superseded, row.indexed) == (6508, 6392, 116)
    assert report.settled
