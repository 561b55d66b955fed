"""``spoolbridge connect-config``: the Aiven OpenSearch sink connector that does what the consumer does.

The topic format is the one the connector reads: string keys (the document id: ``key.ignore=false``),
schemaless JSON values, tombstones as deletes. The password is never printed: the output carries a
placeholder to fill in (or a Kafka Connect config provider reference).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from schemas.settings import Settings

__all__ = ["connector_config"]

PASSWORD_PLACEHOLDER = "<OPENSEARCH_PASSWORD>"


def connector_config(settings: Settings, *, name: str | None = None) -> dict[str, object]:
    """The connector's JSON (``{"name": ..., "config": {...}}``) for the current settings."""
    topic = settings.kafka.topic
    config: dict[str, str] = {
        "connector.class": "io.aiven.kafka.connect.opensearch.OpensearchSinkConnector",
        "topics": topic,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "key.ignore": "false",
        "schema.ignore": "true",
        "behavior.on.null.values": "delete",
        "behavior.on.malformed.documents": "warn",
        "batch.size": str(settings.consumer.max_events),
        "max.in.flight.requests": str(settings.consumer.concurrent_requests),
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": settings.kafka.dead_letter_topic,
        "errors.deadletterqueue.context.headers.enable": "true",
    }
    if settings.index_name != topic:
        config["transforms"] = "toIndex"
        config["transforms.toIndex.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
        config["transforms.toIndex.regex"] = ".*"
        config["transforms.toIndex.replacement"] = settings.index_name
    if settings.opensearch.url is not None:
        parts = urlsplit(settings.opensearch.url.get_secret_value())
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        config["connection.url"] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        if parts.username:
            config["connection.username"] = parts.username
            config["connection.password"] = PASSWORD_PLACEHOLDER
    else:
        config["connection.url"] = "<https://host:port of the OpenSearch service>"
    return {"name": name or f"{topic}-opensearch-sink", "config": config}
