"""The page's dead-letter download after a replay (issue 15), on the real Kafka and OpenSearch: it lists
the file's outstanding letters only, as many as its card counts (and ``status``), and says in a last line
how many were replayed; a letter written again for the same record is listed once, its latest."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from consumer.service import run as consume
from producer.service import run as produce
from schemas.settings import Settings
from spoolbridge.dead_letters import replay
from spoolbridge.status import collect_status
from spoolbridge.web.app import create_app

pytestmark = pytest.mark.integration

FIELDS = {"source": {"type": "keyword"}, "k": {"type": "keyword"}, "v": {"type": "long"}}


def _body(path: Path, fields: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mappings": {"dynamic": "strict", "properties": fields}}))
    return path


def _consume_until_idle(settings: Settings) -> None:
    code: list[int] = []
    thread = threading.Thread(target=lambda: code.append(consume(settings, until_idle_secs=1.0)), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the consumer did not go idle in time"
    assert code == [0]


def _card(client: TestClient, source: str) -> dict[str, Any]:
    """The card's figures once the page says the file is settled (its live stream's last event)."""
    last: dict[str, Any] = {}
    with client.stream("GET", "/api/progress", params={"source": source}) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: {}":
                last = json.loads(line.removeprefix("data: "))
            if line.startswith("event: end"):
                return last
    raise AssertionError(f"the stream ended before the file settled: {last}")


@pytest.mark.timeout(120)
def test_the_download_lists_the_outstanding_letters_the_card_counts_and_how_many_were_replayed(
    settings_factory: Callable[..., Settings], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    strict = _body(tmp_path / "strict.json", FIELDS)
    settings = settings_factory(
        producer={"inbox": inbox, "settle_ms": 50, "id_field": "k"}, opensearch={"index_body_file": strict}
    )
    dataset = unique_name("letters")[:60].rstrip("-")
    (inbox / dataset).mkdir(parents=True)
    rows = [{"k": "a1", "v": 1, "extra": "x"}, {"k": "a2", "v": "not a number"}, {"k": "a3", "v": 3}]
    (inbox / dataset / "a.jsonl").write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    assert produce(settings, once=True) == 0
    _consume_until_idle(settings)  # a1 (no field "extra") and a2 (not a number) are dead-lettered

    # the mapping gains "extra": the replay indexes a1; a2 fails again, a new letter for the same record
    fixed = settings.model_copy(
        update={
            "opensearch": settings.opensearch.model_copy(
                update={
                    "index_body_file": _body(
                        tmp_path / "fixed.json", {**FIELDS, "extra": {"type": "keyword"}}
                    )
                }
            )
        }
    )
    assert [r.replayed for r in replay(fixed, dataset=dataset)] == [2]
    _consume_until_idle(fixed)

    source = f"{dataset}/a.jsonl"
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
        card = _card(client, source)
        response = client.get("/api/reports/dead-letters", params={"source": source})
    assert response.status_code == 200
    *letters, summary = [json.loads(line) for line in response.text.splitlines()]
    assert [(letter["id"], letter["record"]["v"]) for letter in letters] == [("a2", "not a number")]
    assert (summary["outstanding"], summary["replayed"], summary["superseded"]) == (1, 1, 0)
    assert (card["dead_lettered"], card["indexed"], card["settled"]) == (len(letters), 2, True)

    (shown,) = collect_status(settings, only=dataset).datasets
    (row,) = [r for r in shown.sources if r.source == source]
    assert (row.dead_lettered, row.replayed) == (len(letters), summary["replayed"])
