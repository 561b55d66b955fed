"""Re-dropped files on the real Kafka and OpenSearch: the index holds exactly what the last version holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from producer.service import run as produce
from schemas.settings import Settings
from tests.integration.producer.conftest import ProducerProcess
from tests.integration.test_datasets import ConsumerThread

pytestmark = pytest.mark.integration


def documents(client: Any, index: str) -> dict[str, Any]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, body={"query": {"match_all": {}}, "size": 100})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


@pytest.mark.timeout(180)
def test_three_records_then_one_under_the_same_name_leave_one_document(
    settings_factory: Callable[..., Settings], opensearch_client: Any, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50})
    (inbox / "games.json").write_bytes(orjson.dumps([{"name": "a"}, {"name": "b"}, {"name": "c"}]))
    assert produce(settings, once=True) == 0
    (inbox / "games.json").write_bytes(orjson.dumps([{"name": "z"}]))
    assert produce(settings, once=True) == 0
    assert ConsumerThread(settings, until_idle_secs=3.0).wait(120) == 0
    assert documents(opensearch_client, settings.index_name) == {
        "games.json:0": {"source": "games.json", "name": "z"}
    }
    manifest = orjson.loads((inbox / "done" / "games.json.manifest.json").read_bytes())
    assert [(v["records"], v["deleted"]) for v in manifest["versions"]] == [(3, 0), (1, 2)]


@pytest.mark.timeout(180)
def test_json_lines_written_in_two_bursts_end_as_the_last_version(
    settings_factory: Callable[..., Settings],
    producer_process: Callable[..., ProducerProcess],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 200})
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    path = inbox / "events.jsonl"
    with path.open("a") as out:  # a writer that appends, pauses longer than settle_ms, appends again
        out.write('{"burst": 1, "n": 1}\n{"burst": 1, "n": 2}\n{"burst": 1, "n": 3}\n')
    deadline = time.monotonic() + 60
    while not (inbox / "done" / "events.jsonl").exists():
        assert time.monotonic() < deadline, "the first burst was not processed"
        time.sleep(0.05)
    with path.open("a") as out:  # the first version moved to done/: this starts a new file
        out.write('{"burst": 2, "n": 1}\n{"burst": 2, "n": 2}\n')
    manifest = inbox / "done" / "events.jsonl.manifest.json"
    while orjson.loads(manifest.read_bytes())["version"] < 2:
        assert time.monotonic() < deadline, "the second burst was not processed"
        time.sleep(0.05)
    assert producer.stop() == 0
    assert ConsumerThread(settings, until_idle_secs=3.0).wait(120) == 0
    assert documents(opensearch_client, settings.index_name) == {
        "events.jsonl:1": {"source": "events.jsonl", "burst": 2, "n": 1},
        "events.jsonl:2": {"source": "events.jsonl", "burst": 2, "n": 2},
    }
