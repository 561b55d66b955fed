"""Records Kafka's retention removed before the group read them are reported (consumer/expiry.py): one
WARNING with the offsets and count, a metric, and ``status`` names exactly the files they came from (the
producer's manifests record each file's offsets). ``delete_records`` advances the log start exactly as
retention does, without waiting for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import REGISTRY

from producer.service import run as produce_files
from schemas.settings import Settings
from spoolbridge.status import collect_status
from spoolbridge.status_text import expired_lines
from tests.integration.consumer.conftest import (
    ThreadRun,
    committed_offsets,
    doc_count,
    produce,
)

pytestmark = pytest.mark.integration


def _expired_metric() -> float:
    return (
        REGISTRY.get_sample_value("spoolbridge_consumer_records_expired_total", {"dataset": "(default)"}) or 0
    )


def _delete_before(settings: Settings, offset: int) -> None:
    admin = AdminClient(dict(settings.kafka.client_config()))
    futures = admin.delete_records([TopicPartition(settings.kafka.topic, 0, offset)], request_timeout=10)
    for future in futures.values():
        assert future.result(timeout=30).low_watermark == offset


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "event=records_expired" in r.getMessage()]


def _drop(settings: Settings, name: str, records: int) -> None:
    """A JSON Lines file of ``records`` records, produced by the real producer (its manifest records the
    file's offsets)."""
    inbox = settings.producer.inbox
    (inbox / name).write_text("".join(f'{{"n": {i}, "file": "{name}"}}\n' for i in range(records)))
    assert produce_files(settings, once=True) == 0


def _manifest(settings: Settings, name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((settings.producer.done_path / f"{name}.manifest.json").read_bytes())
    return data


@pytest.mark.timeout(120)
def test_records_deleted_before_the_group_read_them_are_logged_once_counted_and_their_files_named(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    caplog: pytest.LogCaptureFixture,
    opensearch_client: object,
    tmp_path: Path,
) -> None:
    settings = settings_factory(producer={"inbox": tmp_path})
    topic = settings.kafka.topic
    produce(settings, [], partitions=1)  # one partition: offsets in the order the files were read
    _drop(settings, "a.jsonl", 100)  # offsets 0-99
    assert _manifest(settings, "a.jsonl")["offsets"] == {"0": [0, 99]}
    assert consume_in_thread(settings, until_idle_secs=1.0).wait(60) == 0
    assert committed_offsets(settings, 1) == [100]
    assert _warnings(caplog) == []  # nothing was lost: nothing said

    _drop(settings, "b.jsonl", 100)  # offsets 100-199, while no consumer runs
    _drop(settings, "c.jsonl", 100)  # offsets 200-299
    assert _manifest(settings, "c.jsonl")["offsets"] == {"0": [200, 299]}
    _delete_before(settings, 250)  # 100-249 "expire": all of b.jsonl, half of c.jsonl
    before = _expired_metric()
    (waiting,) = collect_status(settings).datasets  # not read yet: below the log start, already lost
    assert (waiting.totals["expired"], waiting.totals["lag"]) == (150, 50)
    assert waiting.expired_files == ["b.jsonl", "c.jsonl"]
    caplog.set_level(logging.WARNING, logger="consumer.expiry")
    caplog.clear()
    assert consume_in_thread(settings, until_idle_secs=1.0).wait(60) == 0
    assert _warnings(caplog) == [
        f"event=records_expired dataset=(default) topic={topic} partition=0 offsets=100-249 records=150: "
        "records expired from Kafka (the topic's retention) before they were indexed; drop the files that "
        "produced them again (`spoolbridge status` names the files)"
    ]
    assert _expired_metric() - before == 150
    assert doc_count(opensearch_client, settings.index_name) == 150  # the 100 first and the 50 left
    after = collect_status(settings)  # the count and the offsets ride with the group's commit
    (dataset,) = after.datasets
    assert (dataset.totals["expired"], dataset.totals["lag"]) == (150, 0)
    assert dataset.partitions[0].expired_offsets == [(100, 249)]
    assert dataset.retention_ms is not None
    assert expired_lines(dataset) == [
        f"150 records expired from Kafka before they were indexed (retention.ms {dataset.retention_ms})",
        "fix: drop these files again: b.jsonl, c.jsonl",  # exactly: a.jsonl is not named
    ]
    assert after.settled  # the shortfall is the expired records', said so

    manifest = _manifest(settings, "c.jsonl")  # as a producer from before offsets were recorded wrote it
    del manifest["offsets"]
    (settings.producer.done_path / "c.jsonl.manifest.json").write_bytes(orjson.dumps(manifest))
    assert expired_lines(collect_status(settings).datasets[0])[1:] == [
        "fix: drop these files again: b.jsonl",
        "unknown (manifest from before ranges were recorded) whether they came from: c.jsonl",
    ]

    fresh = settings.model_copy(  # a group that never read the partition: offsets 0-249 are gone for it
        update={"consumer": settings.consumer.model_copy(update={"group": f"{settings.consumer.group}-new"})}
    )
    caplog.clear()
    assert consume_in_thread(fresh, until_idle_secs=1.0).wait(60) == 0
    assert [w.split(":")[0] for w in _warnings(caplog)] == [
        f"event=records_expired dataset=(default) topic={topic} partition=0 offsets=0-249 records=250"
    ]
    (for_fresh,) = collect_status(fresh).datasets
    assert for_fresh.totals["expired"] == 250
    assert for_fresh.expired_files == ["a.jsonl", "b.jsonl"]  # c.jsonl's offsets are unknown now
