"""The Aiven sink connector config reads the same topic format, every dataset's topic, routes each to its
index, survives redeliveries, the mapping race and new datasets, reports malformed documents to a dead-letter
topic of its own, says what a connector version cannot do, and never carries the password."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import load_settings
from spoolbridge.connect_config import (
    CHANGED_FROM_DEFAULTS,
    DEFAULT_CONNECTOR_VERSION,
    PASSWORD_PLACEHOLDER,
    connector_config,
    parse_version,
    version_warnings,
)

README = Path(__file__).resolve().parents[2] / "README.md"
#: Keys connector_config sets that are not changes from a default with a reason: what to read and where to
#: write (the topics, the transforms, the connection), and the defaults the rest depend on, said out loud.
NOT_CHANGES = {"connector.class", "topics.regex", "key.ignore", "value.converter.schemas.enable"}


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
    assert config["errors.deadletterqueue.topic.name"] == "steam-opensearch-sink.dlq"  # not a dataset's DLQ
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


def test_the_default_version_is_one_whose_task_survives_a_refused_document() -> None:
    assert version_warnings(DEFAULT_CONNECTOR_VERSION) == []
    assert _config(DEFAULT_CONNECTOR_VERSION)["behavior.on.malformed.documents"] == "report"


@pytest.mark.parametrize(
    ("version", "parsed"),
    [("3.1.1", (3, 1, 1)), ("4", (4,)), ("4.1.0-SNAPSHOT", (4, 1, 0)), ("4.1.0-rc1", (4, 1, 0))],
)
def test_versions_with_a_qualifier_are_accepted(version: str, parsed: tuple[int, ...]) -> None:
    assert parse_version(version) == parsed


@pytest.mark.parametrize("text", ["", "v4.0.1", "4.0.1.2", "4.0.1-", "4.x", "latest", "4.0.1 -SNAPSHOT"])
def test_what_is_not_a_version_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a version like"):
        parse_version(text)


@pytest.mark.parametrize("version", ["4.0.0", "4.0.1", "4.0"])
def test_the_versions_that_fail_on_a_refused_document_are_warned_about_with_one_that_does_not(
    version: str,
) -> None:
    (warning,) = version_warnings(version)
    assert f"connector {version} fails its task" in warning
    assert "use 3.1.1" in warning and "4.1.0-SNAPSHOT" in warning


@pytest.mark.parametrize("version", ["2.0.4", "3.0.0"])
def test_versions_without_report_are_warned_that_refused_documents_are_lost(version: str) -> None:
    (warning,) = version_warnings(version)
    assert "only logged and lost" in warning and "use 3.1.1" in warning


@pytest.mark.parametrize("version", ["3.1.0", "3.1.1", "4.1.0-SNAPSHOT", "4.1.0", "5.0.0"])
def test_versions_that_report_refused_documents_have_no_warning(version: str) -> None:
    assert version_warnings(version) == []
    assert _config(version)["behavior.on.malformed.documents"] == "report"


def test_one_bulk_request_at_a_time_from_one_task_so_new_fields_cannot_race() -> None:
    config = _config(consumer={"concurrent_requests": 4, "max_events": 700})
    assert config["max.in.flight.requests"] == "1"  # not the consumer's 4: it retries the race, Connect not
    assert config["tasks.max"] == "1"
    assert config["batch.size"] == "700"


def test_a_dataset_created_later_is_read_within_seconds() -> None:
    assert _config()["consumer.override.metadata.max.age.ms"] == "5000"


def test_a_bulk_request_may_take_as_long_as_the_consumer_allows() -> None:
    assert _config(opensearch={"request_timeout_secs": 12.5})["read.timeout.ms"] == "12500"


def test_dead_letters_go_to_the_connector_own_topic_not_a_dataset_dlq() -> None:
    config = connector_config(load_settings({"kafka": {"topic": "steam"}}), name="games-sink")["config"]
    assert isinstance(config, dict)
    assert config["errors.deadletterqueue.topic.name"] == "games-sink.dlq"
    assert config["errors.deadletterqueue.context.headers.enable"] == "true"  # __connect.errors.* headers
    assert config["errors.tolerance"] == "all"
    assert not re.fullmatch(config["topics.regex"], "games-sink.dlq")


def test_the_dead_letter_topic_is_created_with_the_configured_replication_or_the_brokers_default() -> None:
    # Connect's own default (3) fails the task at its start on a one-broker cluster.
    assert _config()["errors.deadletterqueue.topic.replication.factor"] == "-1"
    assert _config(kafka={"replication_factor": 1})["errors.deadletterqueue.topic.replication.factor"] == "1"


@pytest.mark.parametrize(
    ("name", "problem"),
    [("steam.games", "one of spoolbridge's topics"), ("steam", "one of spoolbridge's topics"),
     ("my sink", "cannot name a topic"), ("x" * 246, "cannot name a topic")],
)  # fmt: skip
def test_a_name_whose_dead_letter_topic_spoolbridge_uses_or_kafka_refuses_is_refused(
    name: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        connector_config(load_settings({"kafka": {"topic": "steam"}}), name=name)


def test_every_changed_setting_has_a_reason_and_nothing_else_is_set() -> None:
    config = _config("3.1.1", kafka={"replication_factor": 3}, opensearch={"url": "https://u:p@h:1"})
    written = {
        key for key in config if not key.startswith(("transforms", "connection.")) and key not in NOT_CHANGES
    }
    assert written == set(CHANGED_FROM_DEFAULTS)


def test_the_readme_lists_every_changed_setting() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Kafka Connect instead of the consumer\n")
    section = text[start : text.find("\n## ", start + 1)]
    for key in CHANGED_FROM_DEFAULTS:
        assert f'"{key}"' in section, key
