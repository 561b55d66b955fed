"""The Aiven sink connector config reads the same topic format, and never carries the password."""

from __future__ import annotations

from typing import Any

from schemas.settings import load_settings
from spoolbridge.connect_config import PASSWORD_PLACEHOLDER, connector_config


def _config(**sections: dict[str, Any]) -> dict[str, Any]:
    result = connector_config(load_settings(sections))
    config = result["config"]
    assert isinstance(config, dict)
    return config


def test_connector_uses_keys_as_ids_and_reads_schemaless_json() -> None:
    config = _config(kafka={"topic": "steam"}, opensearch={"url": "https://avnadmin:pw@os.example:24947"})
    assert config["topics"] == "steam"
    assert config["key.ignore"] == "false"
    assert config["key.converter"].endswith("StringConverter")
    assert config["value.converter.schemas.enable"] == "false"
    assert config["behavior.on.null.values"] == "delete"
    assert config["errors.deadletterqueue.topic.name"] == "steam.dlq"
    assert config["connection.url"] == "https://os.example:24947"
    assert config["connection.username"] == "avnadmin"
    assert config["connection.password"] == PASSWORD_PLACEHOLDER
    assert "pw@" not in str(config)
    assert "transforms" not in config


def test_a_different_index_is_routed_with_a_regex_router() -> None:
    config = _config(kafka={"topic": "steam"}, opensearch={"index": "games"})
    assert config["transforms.toIndex.type"].endswith("RegexRouter")
    assert config["transforms.toIndex.replacement"] == "games"
