"""Kafka Connect's dead letters: what its ``__connect.errors.*`` headers say (pure; no network).

With ``errors.deadletterqueue.context.headers.enable=true`` (``spoolbridge connect-config`` sets it),
Kafka Connect's ``DeadLetterQueueReporter`` writes each record it gives up on to the connector's own
dead-letter topic with the original key, value and headers unchanged (spoolbridge's
``spoolbridge-source`` and the like included), and adds these headers, each UTF-8 text:

    __connect.errors.topic                   where the original is: topic, partition, offset
    __connect.errors.partition
    __connect.errors.offset
    __connect.errors.connector.name          which connector and task gave up
    __connect.errors.task.id
    __connect.errors.stage                   KEY_CONVERTER, VALUE_CONVERTER, TRANSFORMATION, TASK_PUT, ...
    __connect.errors.class.name              the class that ran that stage
    __connect.errors.exception.class.name    what was thrown, and its message
    __connect.errors.exception.message
    __connect.errors.exception.stacktrace

The OpenSearch sink reports a document OpenSearch refused as a ``java.lang.Exception`` whose message
holds OpenSearch's own ``type=..., reason=...`` (3.1.x, through its high-level client) or the JSON of
the error cause (``"type":"...","reason":"..."``); :func:`connect_letter` reads either back into an
OpenSearch error type and reason, so such letters fall into the same reason classes as the consumer's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CONNECT_HEADER_PREFIX",
    "CONNECT_ORIGINAL",
    "CONNECT_TOPIC",
    "ConnectLetter",
    "connect_letter",
    "original_headers",
]

CONNECT_HEADER_PREFIX = "__connect.errors."
CONNECT_TOPIC = "__connect.errors.topic"
CONNECT_PARTITION = "__connect.errors.partition"
CONNECT_OFFSET = "__connect.errors.offset"
#: The original record's position: what identifies a letter without a key.
CONNECT_ORIGINAL = (CONNECT_TOPIC, CONNECT_PARTITION, CONNECT_OFFSET)
_CONNECTOR = "__connect.errors.connector.name"
_TASK = "__connect.errors.task.id"
_STAGE = "__connect.errors.stage"
_EXCEPTION = "__connect.errors.exception.class.name"
_MESSAGE = "__connect.errors.exception.message"

# OpenSearchException[OpenSearch exception [type=mapper_parsing_exception, reason=failed to parse ...]]
_TYPED_TEXT = re.compile(r"type=([A-Za-z_]+), reason=(.*)", re.DOTALL)
# {"type":"mapper_parsing_exception","reason":"failed to parse ..."}
_TYPED_JSON = re.compile(r'"type"\s*:\s*"([A-Za-z_]+)"\s*,\s*"reason"\s*:\s*"((?:[^"\\]|\\.)*)"')
_CONVERTERS = ("KEY_CONVERTER", "VALUE_CONVERTER", "HEADER_CONVERTER")


@dataclass(frozen=True, slots=True)
class ConnectLetter:
    """One record Kafka Connect dead-lettered, as its headers describe it."""

    topic: str  # the original record's topic: the dataset it belongs to
    partition: int | None
    offset: int | None
    connector: str | None
    task: str | None
    stage: str | None
    exception: str | None  # the Java class name
    message: str

    @property
    def error_type(self) -> str:
        """OpenSearch's error type when the message carries one; ``invalid_json`` for a value Connect's
        converter could not read; else the exception's short class name."""
        typed = _opensearch_error(self.message)
        if typed is not None:
            return typed[0]
        if self.stage in _CONVERTERS:
            return "invalid_json"
        return (self.exception or "unknown").rsplit(".", 1)[-1]

    @property
    def reason(self) -> str:
        typed = _opensearch_error(self.message)
        where = f"{self.stage.lower()} of {self.connector or 'the connector'}: " if self.stage else ""
        return typed[1] if typed is not None else where + (self.message or "(no message)")


def connect_letter(headers: list[tuple[str, bytes | None]] | None) -> ConnectLetter | None:
    """The letter Kafka Connect's headers describe; ``None`` when they do not name an original topic (not a
    Connect dead letter, or one written without context headers)."""
    found = {name: value.decode("utf-8", "replace") for name, value in headers or [] if value is not None}
    topic = found.get(CONNECT_TOPIC)
    if not topic:
        return None
    return ConnectLetter(
        topic=topic,
        partition=_number(found.get(CONNECT_PARTITION)),
        offset=_number(found.get(CONNECT_OFFSET)),
        connector=found.get(_CONNECTOR),
        task=found.get(_TASK),
        stage=found.get(_STAGE),
        exception=found.get(_EXCEPTION),
        message=found.get(_MESSAGE, ""),
    )


def original_headers(headers: list[tuple[str, bytes | None]]) -> list[tuple[str, bytes | None]]:
    """The original record's headers: Kafka Connect's ``__connect.errors.*`` taken off."""
    return [(name, value) for name, value in headers if not name.startswith(CONNECT_HEADER_PREFIX)]


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _opensearch_error(message: str) -> tuple[str, str] | None:
    """(type, reason) of the first OpenSearch error in the message (the outermost cause)."""
    found = _TYPED_JSON.search(message)
    if found is not None:
        return found.group(1), found.group(2).replace('\\"', '"').replace("\\\\", "\\")
    found = _TYPED_TEXT.search(message)
    if found is None:
        return None
    reason = found.group(2).split("]; nested:", 1)[0].strip()
    # The text format closes the brackets it opened around the reason: take off those it closes.
    while reason.endswith("]") and reason.count("]") > reason.count("["):
        reason = reason[:-1]
    return found.group(1), reason
