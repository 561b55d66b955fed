"""A CSV file dropped in a dataset folder arrives in OpenSearch: every good row one document, typed,
the ragged row rejected with its line (real Kafka and OpenSearch; producer ``--once``, then the consumer)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.service import run as consume
from producer.service import run as produce
from schemas.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.timeout(180)
def test_a_csv_in_a_dataset_folder_is_indexed_row_by_row_with_the_ragged_row_rejected(
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    dataset = unique_name("games")
    rows = [f'{i},"Game {i}, the sequel",0{i % 10},{i}.5,{"true" if i % 2 else "false"}' for i in range(200)]
    text = "id,name,code,price,multiplayer\r\n" + "\r\n".join([*rows[:100], "oops,too,few", *rows[100:]])
    (inbox / dataset).mkdir(parents=True)
    (inbox / dataset / "games.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50, "id_field": "id"})

    assert produce(settings, once=True) == 1  # a file went to failed/: its ragged row
    failed = settings.producer.failed_path / dataset
    report = orjson.loads((failed / "games.csv.error.json").read_bytes())
    assert (report["records_produced"], report["records_rejected"]) == (200, 1)
    assert report["where"] == {"unit": "line", "position": "102", "first_of": 1}
    rejected = orjson.loads((failed / "games.csv.rejected.jsonl").read_bytes())
    assert rejected["reason"] == "line 102: 3 fields, the header has 5"

    consumer = threading.Thread(target=consume, args=(settings,), kwargs={"until_idle_secs": 3.0})
    consumer.start()
    consumer.join(120)
    assert not consumer.is_alive(), "the consumer did not go idle in time"
    opensearch_client.indices.refresh(index=dataset)
    assert opensearch_client.count(index=dataset)["count"] == 200
    doc = opensearch_client.get(index=dataset, id="7")["_source"]
    assert doc == {
        "id": 7,
        "name": "Game 7, the sequel",
        "code": "07",  # leading zero: the column stays text
        "price": 7.5,
        "multiplayer": True,
        "source": f"{dataset}/games.csv",
    }
    mapping = opensearch_client.indices.get_mapping(index=dataset)[dataset]["mappings"]["properties"]
    assert {name: mapping[name]["type"] for name in ("id", "price", "multiplayer")} == {
        "id": "long",
        "price": "float",
        "multiplayer": "boolean",
    }


@pytest.mark.timeout(120)
def test_a_header_with_an_empty_and_a_repeated_name_says_so_in_the_files_manifest(
    settings_factory: Callable[..., Settings], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    dataset = unique_name("header")
    (inbox / dataset).mkdir(parents=True)
    (inbox / dataset / "h.csv").write_bytes(b"a,,a\n1,2,3\n4,5,6\n")
    settings = settings_factory(producer={"inbox": inbox, "settle_ms": 50})

    assert produce(settings, once=True) == 0
    manifest = orjson.loads((settings.producer.done_path / dataset / "h.csv.manifest.json").read_bytes())
    assert manifest["records"] == 2
    assert manifest["notes"] == [
        "header columns renamed to be unique and non-empty: column 2 '' as 'column_2', column 3 'a' as 'a_2'"
    ]
