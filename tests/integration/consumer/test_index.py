"""Index creation on first use (consumer/index.py) against the real node."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consumer.index import ensure_index
from consumer.send import make_client
from schemas.settings import Settings

pytestmark = pytest.mark.integration


def test_index_is_created_once_with_shards_replicas_and_body_file(
    settings_factory: Callable[..., Settings], opensearch_client: Any, tmp_path: Path
) -> None:
    body_file = tmp_path / "index.json"
    body_file.write_text(json.dumps({"mappings": {"properties": {"price": {"type": "keyword"}}}}))
    settings = settings_factory(opensearch={"index_body_file": body_file, "number_of_shards": 2})
    client = make_client(settings.opensearch.client_kwargs())
    name = settings.index_name

    assert ensure_index(client, name, settings.opensearch) is True
    assert ensure_index(client, name, settings.opensearch) is False  # a re-run changes nothing

    index_settings = opensearch_client.indices.get_settings(index=name)[name]["settings"]["index"]
    assert (index_settings["number_of_shards"], index_settings["number_of_replicas"]) == ("2", "0")
    mapping = opensearch_client.indices.get_mapping(index=name)[name]["mappings"]
    assert mapping["properties"]["price"] == {"type": "keyword"}
    client.close()
