"""Why documents were dead-lettered, in words an analyst understands, grouped so that a thousand letters of
one cause are one line: what happened and what to do.

A dead letter's reason (``spoolbridge-dlq-reason``) is OpenSearch's, and names the document (its id, a
preview of its value): :func:`reason_group` keeps what the letters of one cause share (the field, its
type, the limit) and drops what differs per document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ReasonGroup", "reason_group"]

_FIELD_LIMIT = re.compile(r"Limit of total fields \[(\d+)\]")
_PARSE = re.compile(r"failed to parse field \[([^\]]+)\] of type \[([^\]]+)\]")
_TYPE_CHANGE = re.compile(r"mapper \[([^\]]+)\] cannot be changed from type \[([^\]]+)\] to \[([^\]]+)\]")
_OBJECT_MERGE = re.compile(r"can't merge a non object mapping \[([^\]]+)\] with an object mapping")
_DOCUMENT_PARTS = re.compile(
    r"( in document with id '[^']*'| Preview of field's value: '.*$|\[[0-9a-f]{16,}\])"
)


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    """One cause of dead letters: ``key`` groups them, ``what`` says it, ``to_do`` says the way out."""

    key: str
    what: str
    to_do: str


def reason_group(error_type: str, reason: str) -> ReasonGroup:
    """The cause a dead letter's error type and reason belong to."""
    if found := _FIELD_LIMIT.search(reason):
        limit = int(found.group(1))
        return ReasonGroup(
            f"field-limit:{limit}",
            f"the dataset already has the {limit:,} fields its index allows, and these documents would add "
            "more",
            "put this file in a dataset of its own, or ask an administrator to raise the index's "
            "index.mapping.total_fields.limit; then replay the dead letters (spoolbridge dlq replay)",
        )
    if found := _PARSE.search(reason):
        field, kind = found.group(1), found.group(2)
        return ReasonGroup(
            f"parse:{field}:{kind}",
            f"their {field} is not a {kind} value, as the dataset's {field} is",
            f"fix {field} in the file and drop it again under the same name, or put the file in a dataset "
            "of its own",
        )
    if (found := _TYPE_CHANGE.search(reason)) or (found := _OBJECT_MERGE.search(reason)):
        field = found.group(1)
        return ReasonGroup(
            f"type-change:{field}",
            f"their {field} has another kind of value than the dataset's {field} (an object here, a value "
            "there, or two types)",
            f"make {field} one kind of value in every file of the dataset, or put the file in a dataset of "
            "its own; then drop it again under the same name",
        )
    if error_type == "retries_exhausted":
        return ReasonGroup(
            "retries",
            "OpenSearch kept failing to take them for as long as the consumer was told to retry",
            "check OpenSearch (or raise consumer.max_retries), then replay the dead letters (spoolbridge dlq "
            "replay)",
        )
    shared = _DOCUMENT_PARTS.sub("", reason).strip() or error_type
    return ReasonGroup(
        f"other:{error_type}:{shared}",
        f"OpenSearch refused them: {shared}",
        "fix these records in the file and drop it again under the same name, then replay what is left",
    )
