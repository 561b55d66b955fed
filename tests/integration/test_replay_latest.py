"""``dlq replay`` sends each outstanding document's latest letter only, on the real Kafka and OpenSearch:
two letters of one id become one document with the latest content; letters a newer version of their file
superseded (the id indexed again, or deleted) are not sent; ``dlq list``, ``status`` and the producer's
``spoolbridge_dead_letters_outstanding`` gauge count the same outstanding letters throughout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from producer.service import run as produce
from schemas.datasets import Datasets
from schemas.settings import Settings
from spoolbridge.dead_letters import list_dead_letters, replay
from spoolbridge.letters_gauge import OutstandingGauge
from spoolbridge.status import collect_status
from tests.integration.test_datasets import ConsumerThread, topic_size

pytestmark = pytest.mark.integration

FIELDS = {"source": {"type": "keyword"}, "k": {"type": "keyword"}, "v": {"type": "long"}}


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    temp = path.with_name(f".{path.name}.part")
    temp.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    temp.rename(path)


def body(path: Path, *, fixed: bool) -> Path:
    fields = {**FIELDS, "extra": {"type": "keyword"}} if fixed else FIELDS
    path.write_text(json.dumps({"mappings": {"dynamic": "strict", "properties": fields}}))
    return path


def documents(client: Any, index: str) -> dict[str, dict[str, Any]]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def wait_for(gauge: OutstandingGauge, label: str, wanted: int) -> None:
    deadline = time.monotonic() + 20
    while gauge.outstanding().get(label) != wanted:
        assert time.monotonic() < deadline, f"gauge {gauge.outstanding()} never showed {label}={wanted}"
        time.sleep(0.1)


@pytest.mark.timeout(120)
def test_replay_sends_each_documents_latest_letter_and_no_superseded_one(
    settings_factory: Callable[..., Settings], opensearch_client: Any, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    strict = body(tmp_path / "strict.json", fixed=False)
    settings = settings_factory(
        producer={"inbox": inbox, "settle_ms": 50, "id_field": "k"}, opensearch={"index_body_file": strict}
    )
    # a1 twice in one file, both refused (no field "extra" yet): two letters, the second is the latest
    write_lines(
        inbox / "a.jsonl", [{"k": "a1", "v": 1, "extra": "first"}, {"k": "a1", "v": 2, "extra": "second"}]
    )
    # b1 and b2 refused in b.jsonl's first version ...
    write_lines(inbox / "b.jsonl", [{"k": "b1", "v": 1, "extra": "x"}, {"k": "b2", "v": 1, "extra": "x"}])
    assert produce(settings, once=True) == 0
    # ... then its second version indexes b1 and lacks b2 (deleted): both letters are superseded
    write_lines(inbox / "b.jsonl", [{"k": "b1", "v": 2}])
    assert produce(settings, once=True) == 0
    assert ConsumerThread(settings, until_idle_secs=1.5).wait(60) == 0

    label = Datasets(settings).get(None).label
    registry = CollectorRegistry()
    gauge = OutstandingGauge(settings, registry)
    gauge.start()
    try:
        wait_for(gauge, label, 1)  # a1 only
        assert (
            f'spoolbridge_dead_letters_outstanding{{dataset="{label}"}} 1.0'
            in generate_latest(registry).decode()
        )
        (group,) = list_dead_letters(settings)
        assert (group.count, group.superseded, group.first_id) == (1, 2, "a1")
        rows = {row.source: row for row in collect_status(settings).datasets[0].sources}
        assert (rows["a.jsonl"].dead_lettered, rows["b.jsonl"].dead_lettered) == (1, 0)

        fixed = settings.model_copy(
            update={
                "opensearch": settings.opensearch.model_copy(
                    update={"index_body_file": body(strict, fixed=True)}
                )
            }
        )
        topic = settings.kafka.topic
        before = topic_size(settings, topic)
        assert [r.replayed for r in replay(fixed, dry_run=True)] == [1]
        assert [r.replayed for r in replay(fixed)] == [1]
        assert topic_size(settings, topic) == before + 1  # one copy: a1's latest letter
        assert ConsumerThread(fixed, until_idle_secs=1.5).wait(60) == 0

        index = settings.index_name
        held = {
            doc_id: (doc["v"], doc.get("extra"))
            for doc_id, doc in documents(opensearch_client, index).items()
        }
        assert held == {"a1": (2, "second"), "b1": (2, None)}  # b1 not overwritten, b2 not brought back
        wait_for(gauge, label, 0)
        assert [r.replayed for r in replay(fixed, dry_run=True)] == [0]
        (group,) = list_dead_letters(fixed)
        assert (group.count, group.replayed, group.superseded) == (0, 1, 2)
    finally:
        gauge.stop()
