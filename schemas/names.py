"""Naming rules of OpenSearch indices and of spoolbridge datasets — pure functions, one place.

OpenSearch index names: lower case; not ``.`` or ``..``; not starting with ``_``, ``-`` or ``+``; none of
``\\ / * ? " < > | , #`` ``:`` or a space; at most 255 bytes (UTF-8).

Dataset names (the name of a folder directly under the inbox) are stricter, because a dataset's name is
also part of its Kafka topic (``<kafka.topic>.<dataset>``) and, by default, its index name: lower-case
ASCII letters, digits, ``_`` and ``-``, starting with a letter or digit, at most
:data:`MAX_DATASET_NAME_CHARS` characters, and not ``dlq`` (the suffix of dead-letter topics).
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_DATASET_NAME_CHARS",
    "MAX_INDEX_NAME_BYTES",
    "dataset_name_problem",
    "index_name_problem",
    "suggest_dataset_name",
    "suggest_index_name",
]

MAX_INDEX_NAME_BYTES = 255
#: Leaves room in Kafka's 249-character topic names for ``<kafka.topic>.`` and ``.dlq``.
MAX_DATASET_NAME_CHARS = 100
_INDEX_FORBIDDEN = set('\\/*?"<>|, #:')
_DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_RESERVED_DATASETS = frozenset({"dlq"})


def index_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an OpenSearch index name, or ``None`` when it can."""
    if not name:
        return "an index name cannot be empty"
    if name != name.lower():
        return "index names must be lower case"
    if name in (".", ".."):
        return "an index name cannot be '.' or '..'"
    if name[0] in "_-+":
        return f"an index name cannot start with {name[0]!r}"
    bad = sorted(set(name) & _INDEX_FORBIDDEN)
    if bad:
        shown = " ".join("space" if c == " " else c for c in bad)
        return f"an index name cannot contain {shown}"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_INDEX_NAME_BYTES:
        return f"an index name is at most {MAX_INDEX_NAME_BYTES} bytes"
    return None


def suggest_index_name(name: str) -> str:
    """A valid index name close to ``name`` (lower case, forbidden characters replaced by ``-``)."""
    text = "".join("-" if c in _INDEX_FORBIDDEN else c for c in name.lower())
    text = text.lstrip("_-+.") or "index"
    return text.encode("utf-8")[:MAX_INDEX_NAME_BYTES].decode("utf-8", "ignore")


def dataset_name_problem(name: str) -> str | None:
    """Why the folder ``name`` cannot name a dataset, or ``None`` when it can."""
    if name != name.lower():
        return "dataset names must be lower case (they name an index and a Kafka topic)"
    if name in _RESERVED_DATASETS:
        return f"{name!r} is reserved (dead-letter topics end in .{name})"
    if len(name) > MAX_DATASET_NAME_CHARS:
        return f"dataset names are at most {MAX_DATASET_NAME_CHARS} characters"
    if not _DATASET_NAME.fullmatch(name):
        return (
            "dataset names use only a-z, 0-9, '_' and '-', and start with a letter or digit "
            "(they name an index and a Kafka topic)"
        )
    return None


def suggest_dataset_name(name: str) -> str:
    """A valid dataset name close to ``name``: lower case, other characters replaced by ``-``."""
    text = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    text = text[:MAX_DATASET_NAME_CHARS].rstrip("-_") or "dataset"
    return f"{text}-data" if text in _RESERVED_DATASETS else text
