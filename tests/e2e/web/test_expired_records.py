"""A file whose records Kafka's retention removed before they were indexed (issue 15): its card settles,
says how many expired and what to do, with the figures ``spoolbridge status --json`` gives that file.

The page (``spoolbridge web`` alone) takes the upload; the test runs the producer, makes the first 60
records "expire" (``delete_records`` advances the log start exactly as retention does, without waiting
for it), then runs the consumer, as a consumer stopped longer than the topic's retention would meet them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from consumer.service import run as consume
from producer.service import run as produce
from schemas.datasets import Datasets
from schemas.settings import Settings
from tests.conftest import Endpoints

from .conftest import figure, serve_page, short_name, wait_settled

pytestmark = pytest.mark.integration

RECORDS, EXPIRED = 100, 60


def _consume_until_idle(settings: Settings) -> None:
    code: list[int] = []
    thread = threading.Thread(target=lambda: code.append(consume(settings, until_idle_secs=1.0)), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the consumer did not go idle in time"
    assert code == [0]


def _status(endpoints: Endpoints, settings: Settings, dataset: str) -> dict[str, Any]:
    """``spoolbridge status --json`` of ``dataset``, as an operator would run it."""
    cmd = [sys.executable, "-m", "spoolbridge.cli", "status", "--json", "--dataset", dataset,
           "--inbox", str(settings.producer.inbox), "--topic", settings.kafka.topic,
           "--group", settings.consumer.group]  # fmt: skip
    shown = subprocess.run(cmd, capture_output=True, text=True, env=endpoints.env(), timeout=120, check=True)
    report: dict[str, Any] = json.loads(shown.stdout)
    return report


@pytest.mark.timeout(240)
def test_a_file_whose_records_expired_settles_on_its_card_with_the_fix_and_the_figures_of_status(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    page: Any,
    tmp_path: Path,
) -> None:
    settings = settings_factory(
        kafka={"partitions": 1}, producer={"inbox": tmp_path / "inbox", "settle_ms": 50}
    )
    settings.producer.inbox.mkdir(parents=True)
    dataset = short_name(unique_name, "expiry")
    upload = tmp_path / "b.jsonl"
    upload.write_text("".join(f'{{"n": {n}}}\n' for n in range(RECORDS)))
    env = {
        **endpoints.env(),  # Kafka, and OpenSearch with its CA and user (the stack's is HTTPS)
        "SPOOLBRIDGE_KAFKA__TOPIC": settings.kafka.topic,
        "SPOOLBRIDGE_CONSUMER__GROUP": settings.consumer.group,
    }
    with serve_page(tmp_path, **env) as url:
        page.goto(url)
        page.fill("#dataset", dataset)
        page.locator("#dataset-check", has_text="new dataset").wait_for()
        page.set_input_files("#files", str(upload))
        card = page.locator(".file").first
        card.locator(".shape", has_text="JSON Lines").wait_for()
        card.locator(".start").click()
        dropped = settings.producer.inbox / dataset / "b.jsonl"
        deadline = time.monotonic() + 60
        while not dropped.is_file():
            assert time.monotonic() < deadline, "the upload never reached the inbox"
            time.sleep(0.1)

        assert produce(settings, once=True) == 0  # offsets 0-99 of the dataset's topic, its one partition
        topic = Datasets(settings).get(dataset).topic
        admin = AdminClient(dict(settings.kafka.client_config()))
        deleted = admin.delete_records([TopicPartition(topic, 0, EXPIRED)], request_timeout=10)
        for future in deleted.values():
            assert future.result(timeout=30).low_watermark == EXPIRED
        _consume_until_idle(settings)  # indexes the 40 left; the 60 before them are gone

        wait_settled(page, card, timeout_ms=60_000)
        status = card.locator(".status").inner_text()
        assert f"{EXPIRED} records expired from Kafka before they were indexed" in status, status
        assert "Drop the file again under the same name" in status, status
        assert figure(card, "expired from Kafka") == f"{EXPIRED} (never indexed: drop the file again)"
        assert figure(card, "state") == "done"

        [shown] = _status(endpoints, settings, dataset)["datasets"]
        [row] = [r for r in shown["sources"] if r["source"] == f"{dataset}/b.jsonl"]
        assert (row["expired"], row["settled"], row["balances"]) == (EXPIRED, True, False)
        assert (row["indexed"], row["shortfall"]) == (RECORDS - EXPIRED, EXPIRED)
        for label, key in (
            ("records read", "read"),
            ("produced", "produced"),
            ("indexed", "indexed"),
            ("rejected", "rejected"),
            ("dead-lettered", "dead_lettered"),
        ):
            assert figure(card, label) == str(row[key]), (label, row)
        assert shown["expired_files"] == [f"{dataset}/b.jsonl"]
