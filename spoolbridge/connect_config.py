"""``spoolbridge connect-config``: the Aiven OpenSearch sink connector that does what the consumer does.

The topic format is the one the connector reads: string keys (the document id: ``key.ignore=false``),
schemaless JSON values, tombstones as deletes. It reads every dataset's topic (``topics.regex``: the
default topic and ``<topic>.<dataset>``, including datasets created later) and routes each to its
dataset's index with ``RegexRouter`` transforms: ``<topic>.<dataset>`` → ``<dataset>`` for all, plus one
exact rename per index that differs from that rule (the connector's ``topic.index.map`` is deprecated).

Every setting that differs from the connector's defaults has its reason in ``CHANGED_FROM_DEFAULTS``
(the README lists the same; checked against the connector's source, ``OpenSearchSinkConnectorConfig``,
``BulkProcessor``, and against Kafka Connect 4.1.1 with the connector's 3.1.1, 4.0.1 and main). The class is
``io.aiven.kafka.connect.opensearch.OpenSearchSinkConnector`` from 4.0.0 on and ``…OpensearchSinkConnector``
before: ``connector_version`` chooses; ``version_warnings`` says what a version cannot do.

The password is never printed: the output carries a placeholder to fill in (or a Kafka Connect config
provider reference).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from schemas.datasets import Datasets
from schemas.settings import Settings

__all__ = [
    "CHANGED_FROM_DEFAULTS",
    "DEFAULT_CONNECTOR_VERSION",
    "PASSWORD_PLACEHOLDER",
    "connector_config",
    "connector_name",
    "consumer_group",
    "dead_letter_topic",
    "parse_version",
    "version_warnings",
]

PASSWORD_PLACEHOLDER = "<OPENSEARCH_PASSWORD>"
#: The newest release whose task survives a document OpenSearch refuses (4.0.0 and 4.0.1 do not).
DEFAULT_CONNECTOR_VERSION = "3.1.1"
#: Kafka topic names: these characters, at most 249 of them (``.dlq`` takes 4).
_TOPIC_CHARACTERS = re.compile(r"[A-Za-z0-9._-]{1,245}")

#: Why each setting differs from the connector's (or Kafka Connect's) default; the README lists the same
#: (a unit test holds the three together). Not listed: the connection, the topics and the transforms.
CHANGED_FROM_DEFAULTS = {
    "tasks.max": "1 (the default, said out loud): tasks index concurrently, and two bulk requests that add "
    "the same new field at once can fail one document (the mapping race of max.in.flight.requests)",
    "key.converter": "StringConverter: the key is the document id, as spoolbridge writes it",
    "value.converter": "JsonConverter with schemas.enable=false: the values are schemaless JSON",
    "schema.ignore": "true: no Connect schema, OpenSearch maps the fields as it does for the consumer",
    "behavior.on.null.values": "delete: a tombstone deletes the document (default: ignore)",
    "behavior.on.version.conflict": "ignore: with key.ignore=false the version is the Kafka offset "
    "(version_type=external), so a redelivery is a 409; the default (fail) kills the task",
    "behavior.on.malformed.documents": "report (3.1.0 and later): a document OpenSearch refuses goes to "
    "Connect's dead-letter topic; the default (fail) kills the task; before 3.1.0 only warn exists",
    "batch.size": "consumer.max_events: the same bulk size as spoolbridge's consumer (default: 2000)",
    "max.in.flight.requests": "1 (default: 5): two concurrent bulk requests that add the same new field "
    "race (mapper [x] cannot be changed from type [float] to [long]); one at a time cannot",
    "read.timeout.ms": "opensearch.request_timeout_secs: a full bulk can take longer than the default 3 s",
    "flush.timeout.ms": "120000 (default 10000): with 5000-document bulks of 1-3 KB records each offset "
    "commit timed out (Flush timeout expired with unflushed records) and rewound the task, redelivering",
    "errors.tolerance": "all: a record Connect cannot convert goes to the dead-letter topic, not the task",
    "errors.deadletterqueue.topic.name": "<name>.dlq: the connector's own, not a dataset's dead-letter "
    "topic (its records carry Connect's headers, not spoolbridge-dlq-*)",
    "errors.deadletterqueue.topic.replication.factor": "kafka.replication_factor (-1: the broker's "
    "default): Connect's default, 3, fails the task at its start on a smaller cluster (the local stack)",
    "errors.deadletterqueue.context.headers.enable": "true: each dead letter says its original topic, "
    "partition, offset and exception (__connect.errors.* headers)",
    "consumer.override.metadata.max.age.ms": "5000: a dataset created after the connector started is read "
    "within seconds (default: 300000); needs the worker's connector.client.config.override.policy=All",
}


def parse_version(text: str) -> tuple[int, ...]:
    """``"3.1.1"`` → ``(3, 1, 1)``, ``"4.1.0-SNAPSHOT"`` → ``(4, 1, 0)``; raises ValueError otherwise.

    A qualifier (``-SNAPSHOT``, ``-rc1``) is accepted and dropped: a build from the connector's main
    carries the next release's number and what it will hold.
    """
    if not re.fullmatch(r"\d+(\.\d+){0,2}(-[A-Za-z0-9.]+)?", text):
        raise ValueError(f"{text!r} is not a version like 3.1.1 or 4.1.0-SNAPSHOT")
    return tuple(int(part) for part in text.split("-", 1)[0].split("."))


def version_warnings(connector_version: str) -> list[str]:
    """What the connector at that version cannot do that spoolbridge's consumer does, one line each."""
    version = parse_version(connector_version)
    if version < (3, 1):
        return [
            f"connector {connector_version} has no behavior.on.malformed.documents=report: a document "
            "OpenSearch refuses is only logged and lost; use 3.1.1 (--connector-version 3.1.1)"
        ]
    if (4, 0) <= version < (4, 1):
        return [
            f"connector {connector_version} fails its task (every dataset stops) on any document "
            "OpenSearch refuses: it no longer recognises the error (fixed on its main, #419, unreleased), "
            "errors.tolerance=all cannot help; use 3.1.1, or a build of its main (4.1.0-SNAPSHOT)"
        ]
    return []


def connector_name(settings: Settings, name: str | None = None) -> str:
    """The connector's name: ``name``, else ``<topic>-opensearch-sink``."""
    return name or f"{Datasets(settings).base_topic}-opensearch-sink"


def consumer_group(name: str) -> str:
    """The consumer group Kafka Connect gives a sink connector of that name."""
    return f"connect-{name}"


def dead_letter_topic(name: str) -> str:
    """The connector's own dead-letter topic: ``<name>.dlq``."""
    return f"{name}.dlq"


def connector_config(
    settings: Settings, *, name: str | None = None, connector_version: str = DEFAULT_CONNECTOR_VERSION
) -> dict[str, object]:
    """The connector's JSON (``{"name": ..., "config": {...}}``) for the current settings.

    Raises ValueError for a version that is not one, or a name whose dead-letter topic could not be a
    topic or would be one spoolbridge reads or writes.
    """
    version = parse_version(connector_version)
    datasets = Datasets(settings)
    name = connector_name(settings, name)
    topics = _topics_regex(datasets)
    dead_letters = _checked_dead_letter_topic(name, topics, datasets, settings)
    class_name = "OpenSearchSinkConnector" if version >= (4,) else "OpensearchSinkConnector"
    config: dict[str, str] = {
        "connector.class": f"io.aiven.kafka.connect.opensearch.{class_name}",
        "tasks.max": "1",
        "topics.regex": topics,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "key.ignore": "false",
        "schema.ignore": "true",
        "behavior.on.null.values": "delete",
        "behavior.on.version.conflict": "ignore",
        "behavior.on.malformed.documents": "report" if version >= (3, 1) else "warn",
        "batch.size": str(settings.consumer.max_events),
        "max.in.flight.requests": "1",
        "read.timeout.ms": str(round(settings.opensearch.request_timeout_secs * 1000)),
        "flush.timeout.ms": "120000",
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dead_letters,
        "errors.deadletterqueue.context.headers.enable": "true",
        "consumer.override.metadata.max.age.ms": "5000",
    }
    # Always: Connect's default (3) kills the task at its start on a cluster of fewer brokers.
    config["errors.deadletterqueue.topic.replication.factor"] = str(settings.kafka.replication_factor)
    config.update(_routes(settings, datasets))
    config.update(_connection(settings))
    return {"name": name, "config": config}


def _topics_regex(datasets: Datasets) -> str:
    escaped = datasets.base_topic.replace(".", "\\.")
    every_dataset = datasets.topic_pattern().removeprefix("^").removesuffix("$")
    return f"{escaped}|{every_dataset}"


def _checked_dead_letter_topic(name: str, topics: str, datasets: Datasets, settings: Settings) -> str:
    topic = dead_letter_topic(name)
    if not _TOPIC_CHARACTERS.fullmatch(name):
        raise ValueError(f"{name!r} cannot name a topic ({topic}): use letters, digits, '.', '_', '-'")
    base = datasets.base_topic
    # Read by the connector itself (a loop), or a dataset's own dead-letter topic (wrong headers there).
    own = (
        re.fullmatch(topics, topic)
        or topic.startswith(f"{base}.")
        or topic == settings.kafka.dead_letter_topic
    )
    if own:
        raise ValueError(f"{name!r} would make the dead-letter topic {topic}, one of spoolbridge's topics")
    return topic


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
