"""Records Kafka's retention removed before the group read them are reported (consumer/expiry.py): one
WARNING with the offsets and count, and a metric. ``delete_records`` advances the log start exactly as
retention does, without waiting for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import REGISTRY

from schemas.settings import Settings
from spoolbridge.status import collect_status, expired_lines
from tests.integration.consumer.conftest import (
    ThreadRun,
    committed_offsets,
    doc_count,
    make_records,
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


@pytest.mark.timeout(120)
def test_records_deleted_before_the_group_read_them_are_logged_once_and_counted(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    caplog: pytest.LogCaptureFixture,
    opensearch_client: object,
    tmp_path: Path,
) -> None:
    settings = settings_factory(producer={"inbox": tmp_path})
    topic = settings.kafka.topic
    produce(settings, make_records(100, prefix="early"), partitions=1)
    assert consume_in_thread(settings, until_idle_secs=1.0).wait(60) == 0
    assert committed_offsets(settings, 1) == [100]
    assert _warnings(caplog) == []  # nothing was lost: nothing said

    produce(settings, make_records(200, prefix="late"))  # offsets 100-299, while no consumer runs
    _delete_before(settings, 250)  # 100-249 "expire"
    before = _expired_metric()
    (waiting,) = collect_status(settings).datasets  # not read yet: below the log start, already lost
    assert (waiting.totals["expired"], waiting.totals["lag"]) == (150, 50)
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
    (after,) = collect_status(settings).datasets  # the count rides with the group's commit
    assert (after.totals["expired"], after.totals["lag"]) == (150, 0)
    assert after.retention_ms is not None
    assert expired_lines(after) == [
        f"150 records expired from Kafka before they were indexed (retention.ms {after.retention_ms})",
        "fix: drop their files again (none of this inbox's settled files is short of records)",
    ]

    fresh = settings.model_copy(  # a group that never read the partition: offsets 0-249 are gone for it
        update={"consumer": settings.consumer.model_copy(update={"group": f"{settings.consumer.group}-new"})}
    )
    caplog.clear()
    assert consume_in_thread(fresh, until_idle_secs=1.0).wait(60) == 0
    assert [w.split(":")[0] for w in _warnings(caplog)] == [
        f"event=records_expired dataset=(default) topic={topic} partition=0 offsets=0-249 records=250"
    ]
    assert collect_status(fresh).datasets[0].totals["expired"] == 250
