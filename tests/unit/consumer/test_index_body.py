"""The create-index body (consumer/index.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.index import index_body
from schemas.errors import ConfigError
from schemas.settings import OpenSearchSettings


def test_shards_and_replicas_from_settings() -> None:
    body = index_body(OpenSearchSettings(number_of_shards=3, number_of_replicas=0))
    assert body == {"settings": {"number_of_shards": 3, "number_of_replicas": 0}}


def test_replicas_left_to_the_cluster_when_unset() -> None:
    assert index_body(OpenSearchSettings()) == {"settings": {"number_of_shards": 1}}


def test_body_file_wins_over_settings_and_keeps_mappings(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text('{"settings": {"index": {"number_of_shards": 2}}, "mappings": {"dynamic": false}}')
    body = index_body(OpenSearchSettings(index_body_file=path, number_of_shards=5, number_of_replicas=1))
    assert body == {
        "settings": {"index": {"number_of_shards": 2}, "number_of_replicas": 1},
        "mappings": {"dynamic": False},
    }


@pytest.mark.parametrize("text", ["not json", "[1]"])
def test_bad_body_file_names_the_setting(tmp_path: Path, text: str) -> None:
    path = tmp_path / "body.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"opensearch\.index_body_file"):
        index_body(OpenSearchSettings(index_body_file=path))
