"""``spoolbridge forget`` on the real Kafka and OpenSearch: a cut file's documents are deleted through the
pipeline (tombstones the producer sends between files), the history says removed with the count, and
status balances without them; the complete file beside it keeps every document."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from producer.inbox.removals import RemovalRequests
from producer.inbox.versions import VersionHistory
from producer.service import run as produce
from schemas.datasets import Datasets
from schemas.settings import Settings
from spoolbridge.forget import forget
from spoolbridge.status import collect_status
from tests.integration.test_datasets import ConsumerThread

pytestmark = pytest.mark.integration


def count_of(client: Any, index: str, source: str) -> int:
    client.indices.refresh(index=index)
    body = {"query": {"term": {"source.keyword": source}}}
    return int(client.count(index=index, body=body)["count"])


@pytest.mark.timeout(180)
def test_a_forgotten_file_leaves_no_document_and_its_history_says_removed(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inbox = tmp_path / "inbox"
    dataset = unique_name("forget")[:60].rstrip("-")
    (inbox / dataset).mkdir(parents=True)
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50})
    index = Datasets(settings).get(dataset).index
    cut, whole = f"{dataset}/games.json", f"{dataset}/games-complete.json"
    records = [{"name": f"game {n}", "n": n} for n in range(5)]
    text = json.dumps(records)
    (inbox / cut).write_text(text[: text.index('"game 3"')])  # cut short: three records, then the end
    (inbox / whole).write_text(text)
    assert produce(settings, once=True) == 1  # the cut one failed
    report = orjson.loads((inbox / "failed" / f"{cut}.error.json").read_bytes())
    assert "drop the complete file again under the same name, or remove the cut one" in report["what_to_do"]
    assert f"spoolbridge forget {cut}" in report["what_to_do"]
    assert ConsumerThread(settings, until_idle_secs=2.0).wait(120) == 0
    assert (count_of(opensearch_client, index, cut), count_of(opensearch_client, index, whole)) == (3, 5)

    assert forget(settings, cut) == 0
    assert "asked the producer to remove every document of" in capsys.readouterr().out
    assert produce(settings, once=True) == 0  # nothing to read: it carries out the request
    assert list(RemovalRequests(inbox).pending()) == []
    assert ConsumerThread(settings, until_idle_secs=2.0).wait(120) == 0

    assert (count_of(opensearch_client, index, cut), count_of(opensearch_client, index, whole)) == (0, 5)
    latest = VersionHistory(inbox).versions(cut)[-1]
    assert (latest.outcome, latest.deleted, latest.replaced_records) == ("removed", 3, 3)
    status = collect_status(settings, dataset).as_dict()
    (shown,) = status["datasets"]
    rows = {row["source"]: row for row in shown["sources"]}
    assert (rows[cut]["state"], rows[cut]["removed"], rows[cut]["indexed"]) == ("removed", 3, 0)
    assert (shown["produced"], shown["indexed"], shown["index_documents"]) == (5, 5, 5)
    assert status["settled"]

    assert forget(settings, cut, wait_secs=1.0) == 0  # asked again: nothing left to delete, said so
    assert "is already removed: 3 documents deleted" in capsys.readouterr().out
