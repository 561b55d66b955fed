"""``spoolbridge connect-config``: the Aiven OpenSearch sink connector that does what the consumer does.

The topic format is the one the connector reads: string keys (the document id: ``key.ignore=false``),
schemaless JSON values, tombstones as deletes. It reads every dataset's topic (``topics.regex``: the
default topic and ``<topic>.<dataset>``, including datasets created later) and routes each to its
dataset's index with ``RegexRouter`` transforms: ``<topic>.<dataset>`` → ``<dataset>`` for all, plus one
exact rename per index that differs from that rule (the connector's ``topic.index.map`` is deprecated).

Settings that differ from the connector's defaults, and why (checked against its source,
``OpenSearchSinkConnectorConfig`` and ``BulkOperationBuilder``):

- ``behavior.on.version.conflict=ignore``: with ``key.ignore=false`` the sink indexes with
  ``version_type=external`` and the Kafka offset as the version, so a message delivered again after a
  task restart is a 409 version conflict; the default (``error``/``fail``) would kill the task on the
  first redelivery. The document already holds that version or a newer one, so ignoring it is right.
- ``behavior.on.malformed.documents=report`` (3.1.0 and later): a document OpenSearch rejects goes to
  Connect's dead-letter queue; ``warn`` would only log it, and the record would be gone.
- the connector class is ``io.aiven.kafka.connect.opensearch.OpenSearchSinkConnector`` from 4.0.0 on
  and ``…OpensearchSinkConnector`` before: ``connector_version`` chooses.

The password is never printed: the output carries a placeholder to fill in (or a Kafka Connect config
provider reference).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from schemas.datasets import Datasets
from schemas.settings import Settings

__all__ = ["DEFAULT_CONNECTOR_VERSION", "PASSWORD_PLACEHOLDER", "connector_config", "parse_version"]

PASSWORD_PLACEHOLDER = "<OPENSEARCH_PASSWORD>"
DEFAULT_CONNECTOR_VERSION = "4.0.1"


def parse_version(text: str) -> tuple[int, ...]:
    """``"3.1.1"`` → ``(3, 1, 1)``; raises ValueError for anything else."""
    if not re.fullmatch(r"\d+(\.\d+){0,2}", text):
        raise ValueError(f"{text!r} is not a version like 4.0.1")
    return tuple(int(part) for part in text.split("."))


def connector_config(
    settings: Settings, *, name: str | None = None, connector_version: str = DEFAULT_CONNECTOR_VERSION
) -> dict[str, object]:
    """The connector's JSON (``{"name": ..., "config": {...}}``) for the current settings."""
    version = parse_version(connector_version)
    datasets = Datasets(settings)
    topic = datasets.base_topic
    escaped = topic.replace(".", "\\.")
    every_dataset = datasets.topic_pattern().removeprefix("^").removesuffix("$")
    class_name = "OpenSearchSinkConnector" if version >= (4,) else "OpensearchSinkConnector"
    config: dict[str, str] = {
        "connector.class": f"io.aiven.kafka.connect.opensearch.{class_name}",
        "topics.regex": f"{escaped}|{every_dataset}",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "key.ignore": "false",
        "schema.ignore": "true",
        "behavior.on.null.values": "delete",
        "behavior.on.version.conflict": "ignore",
        "behavior.on.malformed.documents": "report" if version >= (3, 1) else "warn",
        "batch.size": str(settings.consumer.max_events),
        "max.in.flight.requests": str(settings.consumer.concurrent_requests),
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": settings.kafka.dead_letter_topic,
        "errors.deadletterqueue.context.headers.enable": "true",
    }
    config.update(_routes(settings, datasets))
    config.update(_connection(settings))
    return {"name": name or f"{topic}-opensearch-sink", "config": config}


def _routes(settings: Settings, datasets: Datasets) -> dict[str, str]:
    """RegexRouter transforms: exact renames for indices that differ from the rule, then the rule."""
    renames: list[tuple[str, str]] = []
    default = datasets.get(None)
    if default.index != default.topic:
        renames.append((default.topic, default.index))
    for name, own in sorted(settings.datasets.items()):
        if own.index is not None and own.index != name:
            renames.append((datasets.get(name).topic, own.index))
    config: dict[str, str] = {}
    names: list[str] = []
    for number, (topic, index) in enumerate(renames):
        key = f"toIndex{number}"
        names.append(key)
        config[f"transforms.{key}.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
        config[f"transforms.{key}.regex"] = re.escape(topic)
        config[f"transforms.{key}.replacement"] = index
    prefix = datasets.base_topic.replace(".", "\\.")
    names.append("datasetToIndex")
    config["transforms.datasetToIndex.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
    config["transforms.datasetToIndex.regex"] = f"{prefix}\\.(.+)"
    config["transforms.datasetToIndex.replacement"] = "$1"
    config["transforms"] = ",".join(names)
    return config


def _connection(settings: Settings) -> dict[str, str]:
    if settings.opensearch.url is None:
        return {"connection.url": "<https://host:port of the OpenSearch service>"}
    parts = urlsplit(settings.opensearch.url.get_secret_value())
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    config = {"connection.url": urlunsplit((parts.scheme, netloc, parts.path, "", ""))}
    if parts.username:
        config["connection.username"] = parts.username
        config["connection.password"] = PASSWORD_PLACEHOLDER
    return config
