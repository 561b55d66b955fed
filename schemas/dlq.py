"""The dead-letter message: the original message plus headers that say why and where it came from.

A message on ``<topic>.dlq`` (``KafkaSettings.dead_letter_topic``) is the original message unchanged —
same key, same value bytes, same headers — with these headers appended (values are UTF-8 text)::

    spoolbridge-dlq-error-type   short machine name: an OpenSearch error type
                                 (mapper_parsing_exception, …) or one of the consumer's own
                                 (missing_key, invalid_key, invalid_json, not_an_object, retries_exhausted)
    spoolbridge-dlq-reason       what went wrong, for a person
    spoolbridge-dlq-status       the HTTP status OpenSearch answered; absent when OpenSearch never saw it
    spoolbridge-dlq-topic        where the original is: topic, partition, offset
    spoolbridge-dlq-partition
    spoolbridge-dlq-offset
    spoolbridge-dlq-index        the index it was meant for
    spoolbridge-dlq-failed-at    when the consumer gave up (ISO 8601, UTC)

:class:`DeadLetterHeaders` is that header set as a model; ``schemas/dlq-message.schema.json`` is its JSON
Schema (regenerate with ``python -m schemas.dlq``; a test fails when the file drifts from the model).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HEADER_PREFIX", "SCHEMA_FILE", "DeadLetterHeaders", "json_schema_text"]

HEADER_PREFIX = "spoolbridge-dlq-"
SCHEMA_FILE = Path(__file__).with_name("dlq-message.schema.json")


class DeadLetterHeaders(BaseModel):
    """The ``spoolbridge-dlq-*`` headers of a dead-letter message, by header name."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        title="spoolbridge dead-letter message headers",
    )

    error_type: str = Field(alias="spoolbridge-dlq-error-type", min_length=1, description="machine name")
    reason: str = Field(alias="spoolbridge-dlq-reason", description="what went wrong, for a person")
    status: int | None = Field(
        default=None,
        alias="spoolbridge-dlq-status",
        description="HTTP status from OpenSearch; absent when OpenSearch never saw the document",
    )
    topic: str = Field(alias="spoolbridge-dlq-topic", description="topic of the original message")
    partition: int = Field(alias="spoolbridge-dlq-partition", ge=0)
    offset: int = Field(alias="spoolbridge-dlq-offset", ge=0)
    index: str = Field(alias="spoolbridge-dlq-index", description="index the document was meant for")
    failed_at: datetime = Field(alias="spoolbridge-dlq-failed-at", description="ISO 8601, UTC")

    def to_kafka_headers(self) -> list[tuple[str, bytes]]:
        """The headers to append to the original ones (``status`` left out when None)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return [(name, str(value).encode("utf-8")) for name, value in data.items()]

    @classmethod
    def from_kafka_headers(cls, headers: list[tuple[str, bytes | None]] | None) -> DeadLetterHeaders:
        """Read the ``spoolbridge-dlq-*`` headers of a dead-letter message (other headers are ignored).

        Raises ``pydantic.ValidationError`` when one is missing or malformed.
        """
        found = {
            name: value.decode("utf-8")
            for name, value in headers or []
            if name.startswith(HEADER_PREFIX) and value is not None
        }
        return cls.model_validate(found)


def json_schema_text() -> str:
    """The JSON Schema of :class:`DeadLetterHeaders` as the text stored in :data:`SCHEMA_FILE`."""
    schema = DeadLetterHeaders.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "Headers spoolbridge appends to a message it moves to the dead-letter topic (<topic>.dlq). "
        "Key, value and the original headers are kept unchanged; header values are UTF-8 text."
    )
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(json_schema_text(), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_FILE.name}\n")
