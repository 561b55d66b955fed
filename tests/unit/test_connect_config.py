"""The Aiven sink connector config reads the same topic format, every dataset's topic, routes each to its
index, survives redeliveries, reports malformed documents, and never carries the password."""

from __future__ import annotations

import re
from typing import Any

import pytest

from schemas.settings import load_settings
from spoolbridge.connect_config import PASSWORD_PLACEHOLDER, connector_config


def _config(version: str = "4.0.1", **sections: dict[str, Any]) -> dict[str, Any]:
    result = connector_config(load_settings(sections), connector_version=version)
    config = result["config"]
    assert isinstance(config, dict)
    return config


def route(config: dict[str, Any], topic: str) -> str:
    """The index a topic ends up in after the config's RegexRouter chain (Connect applies them in order)."""
    for name in config["transforms"].split(","):
        regex = config[f"transforms.{name}.regex"]
        if re.fullmatch(regex, topic):
            topic = re.sub(regex, config[f"transforms.{name}.replacement"].replace("$", "\\"), topic)
    return topic


def test_connector_uses_keys_as_ids_and_reads_schemaless_json() -> None:
    config = _config(kafka={"topic": "steam"}, opensearch={"url": "https://avnadmin:pw@os.example:24947"})
    assert config["connector.class"] == "io.aiven.kafka.connect.opensearch.OpenSearchSinkConnector"
    assert config["key.ignore"] == "false"
    assert config["key.converter"].endswith("StringConverter")
    assert config["value.converter.schemas.enable"] == "false"
    assert config["behavior.on.null.values"] == "delete"
    assert config["behavior.on.version.conflict"] == "ignore"  # a redelivery is a 409 under external versions
    assert config["behavior.on.malformed.documents"] == "report"  # to the dead-letter queue, not dropped
    assert config["errors.deadletterqueue.topic.name"] == "steam.dlq"
    assert config["connection.url"] == "https://os.example:24947"
    assert config["connection.username"] == "avnadmin"
    assert config["connection.password"] == PASSWORD_PLACEHOLDER
    assert "pw@" not in str(config)


def test_every_dataset_topic_is_read_and_routed_to_its_index() -> None:
    config = _config(
        kafka={"topic": "acme.data"},
        opensearch={"index": "everything"},
        datasets={"games": {"index": "steam-games"}, "cars": {}},
    )
    topics = re.compile(config["topics.regex"])
    for topic in ("acme.data", "acme.data.games", "acme.data.cars", "acme.data.later-one"):
        assert topics.fullmatch(topic), topic
    for topic in ("acme.data.dlq", "acme.data.games.dlq", "acmexdata", "acme.data.Games"):
        assert not topics.fullmatch(topic), topic
    assert route(config, "acme.data") == "everything"
    assert route(config, "acme.data.games") == "steam-games"
    assert route(config, "acme.data.cars") == "cars"
    assert route(config, "acme.data.later-one") == "later-one"


@pytest.mark.parametrize(
    ("version", "class_name", "malformed"),
    [("4.0.1", "OpenSearchSinkConnector", "report"), ("3.1.1", "OpensearchSinkConnector", "report"),
     ("3.0.0", "OpensearchSinkConnector", "warn")],
)  # fmt: skip
def test_the_connector_version_decides_the_class_name(version: str, class_name: str, malformed: str) -> None:
    config = _config(version)
    assert config["connector.class"] == f"io.aiven.kafka.connect.opensearch.{class_name}"
    assert config["behavior.on.malformed.documents"] == malformed
