"""Why the producer rejected records, in words an analyst understands, grouped so that a thousand rejected
records of one cause are one line: what happened and what to do (something the person at the page can
do: choose other records, put the file elsewhere, ask an administrator; never "fix the code").

A rejected record's reason is the producer's (``<name>.rejected.jsonl``, one per record) and names the
record (its size, its line, the offending value): :func:`reject_group` keeps what the records of one cause
share (the limit, the field, the kind) and drops what differs per record. The producer counts its
rejected records by the group's ``key`` (its error report's ``rejected_causes``), and the page words each
group from the first reason of it; the dead letters' causes are :mod:`schemas.letter_reasons`.
"""

from __future__ import annotations

import re

from schemas.letter_reasons import ReasonGroup

__all__ = ["reject_group"]

_TOO_LARGE = re.compile(r"^record is \d+ bytes; the topic accepts at most (\d+)")
_NOT_OBJECT = re.compile(r"^record is (null|a boolean|a number|a string|an array|\w+), not a JSON object")
_RAGGED = re.compile(r"^line \d+: \d+ fields, the header has (\d+)")
_NO_ID = re.compile(r"^record has no id field '([^']*)'|^id field '([^']*)' (?:is an empty string|must be)")
_TOO_DEEP = re.compile(r"nested (?:too deeply|deeper than)")
_TOO_LONG_LINE = re.compile(r"^line \d+ is longer than (\d+) bytes")
_KAFKA = re.compile(r"^Kafka refused the record: (.*)$")
_UNICODE = re.compile(r"lone surrogate escape")
_RANGE = re.compile(r"outside the range of a double")
_RECORDS_UNDER = (
    'choose another level of the file under "Records under" on the page (the records_path setting)'
)


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:.1f} MB" if limit >= 1024 * 1024 else f"{limit / 1024:.1f} KB"


def reject_group(reason: str) -> ReasonGroup:
    """The cause a rejected record's reason belongs to."""
    if found := _TOO_LARGE.search(reason):
        limit = int(found.group(1))
        return ReasonGroup(
            f"too-large:{limit}",
            f"each is larger than the {_size(limit)} a record may be in this dataset's Kafka topic",
            "take smaller records: upload the part you need as a file of its own, so that its entries become "
            'the records (for a single object, "Records under" on the page picks the key that holds them), '
            "or ask an administrator to raise producer.max_message_bytes and the topic's max.message.bytes "
            "and drop the file again under the same name",
        )
    if found := _TOO_LONG_LINE.search(reason):
        limit = int(found.group(1))
        return ReasonGroup(
            f"long-line:{limit}",
            f"each is a line longer than the {_size(limit)} a record may be",
            "split those lines into smaller records, or ask an administrator to raise "
            "producer.max_message_bytes; then drop the file again under the same name",
        )
    if found := _NOT_OBJECT.search(reason):
        kind = found.group(1)
        return ReasonGroup(
            f"not-object:{kind}",
            f"each is {kind}, not an object with fields (a searchable document is an object)",
            f"{_RECORDS_UNDER}, to take the objects inside them; or put each value in an object in the file",
        )
    if found := _RAGGED.search(reason):
        width = int(found.group(1))
        return ReasonGroup(
            f"ragged:{width}",
            f"each is a row with another number of fields than the {width:,} columns of the header",
            "correct those rows (their lines are in the rejected records: a stray delimiter or quote), or "
            "remove them, and drop the file again under the same name",
        )
    if found := _NO_ID.search(reason):
        field = found.group(1) or found.group(2)
        return ReasonGroup(
            f"no-id:{field}",
            f"each lacks a usable {field} (a text or a whole number), which this dataset takes its document "
            "ids from",
            f"give every record its {field}, or put the file in a dataset whose ids are not taken from a "
            "field; then drop it again under the same name",
        )
    if _TOO_DEEP.search(reason):
        return ReasonGroup(
            "too-deep",
            "each has values nested more deeply than a document may be",
            f"{_RECORDS_UNDER}, to start lower down, or flatten the data; then drop the file again",
        )
    if found := _KAFKA.search(reason):
        return ReasonGroup(
            f"kafka:{found.group(1)}",
            f"Kafka refused them ({found.group(1)})",
            "ask an administrator about the topic; then drop the file again under the same name",
        )
    if _UNICODE.search(reason) or _RANGE.search(reason):
        what = "broken Unicode text" if _UNICODE.search(reason) else "a number too large for OpenSearch"
        return ReasonGroup(
            "value:" + what,
            f"each holds {what}, which no index can store",
            "correct those values in the file (the rejected records name each), and drop it again under "
            "the same name",
        )
    return ReasonGroup(
        "other:" + re.sub(r"\d+", "N", reason)[:60],
        f"the producer could not send them: {reason}",
        "see the rejected records for each and its reason; correct them in the file and drop it again under "
        "the same name",
    )
