"""What an index allows, counted as OpenSearch counts it, and what the page tells about a new dataset."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from producer.publish.publisher import RECORD_OVERHEAD_BYTES
from schemas.settings import OpenSearchSettings, ProducerSettings, Settings
from spoolbridge.web.app import create_app
from spoolbridge.web.limits import DEFAULT_FIELD_LIMIT, field_limit, mapped_field_count


def test_objects_leaves_and_multi_fields_each_count_as_a_field() -> None:
    properties = {
        "name": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},  # 2
        "price": {"type": "float"},  # 1
        "owner": {"properties": {"id": {"type": "long"}, "email": {"type": "keyword"}}},  # 3
        "tags": {"type": "nested", "properties": {"label": {"type": "keyword"}}},  # 2
    }
    assert mapped_field_count(properties) == 8
    assert mapped_field_count({}) == 0


def test_the_limit_is_the_index_setting_or_opensearchs_default() -> None:
    assert field_limit({"index.mapping.total_fields.limit": "2500"}) == 2500
    assert field_limit({"index.number_of_shards": "1"}) == DEFAULT_FIELD_LIMIT
    assert field_limit({"index.mapping.total_fields.limit": "lots"}) == DEFAULT_FIELD_LIMIT


def test_a_new_dataset_gets_the_limit_of_its_index_body_and_the_largest_record(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"settings": {"index": {"mapping": {"total_fields": {"limit": 40}}}}}))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = Settings(
        producer=ProducerSettings(inbox=inbox, max_message_bytes=50_000),
        opensearch=OpenSearchSettings(index_body_file=body),
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
        answer = client.get("/api/datasets/wide", headers={"Sec-Fetch-Site": "same-origin"}).json()
    assert answer["exists"] is False
    assert (answer["field_count"], answer["field_limit"]) == (0, 40)
    assert answer["max_record_bytes"] == 50_000 - RECORD_OVERHEAD_BYTES
