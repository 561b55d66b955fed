"""OpenSearch's rules for index names, as one pure function, and a name that would work instead.

The rules (OpenSearch ``MetadataCreateIndexService.validateIndexOrAliasName``): lower case only; not
``.`` or ``..``; not starting with ``_``, ``-`` or ``+``; at most 255 bytes of UTF-8; none of
``\\ / * ? " < > | , #``, ``:`` or a space. Names starting with ``.`` are allowed but hidden/system-like
indices; they are accepted here as OpenSearch accepts them.

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
_FORBIDDEN = '\\/*?"<>| ,#:'
_FORBIDDEN_START = "_-+"
#: Leaves room in Kafka's 249-character topic names for ``<kafka.topic>.`` and ``.dlq``.
MAX_DATASET_NAME_CHARS = 100
_DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_RESERVED_DATASETS = frozenset({"dlq"})


def index_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an OpenSearch index name, as a phrase ("index names must …"); None if it can."""
    if not name:
        return "index names must not be empty"
    if name in (".", ".."):
        return "index names must not be '.' or '..'"
    if name != name.lower():
        return "index names must be lower case"
    if name[0] in _FORBIDDEN_START:
        return f"index names must not start with {name[0]!r}"
    bad = sorted({c for c in name if c in _FORBIDDEN}, key=_FORBIDDEN.index)
    if bad:
        shown = ", ".join("space" if c == " " else repr(c) for c in bad)
        return f"index names must not contain {shown}"
    if len(name.encode("utf-8")) > MAX_INDEX_NAME_BYTES:
        return f"index names must be at most {MAX_INDEX_NAME_BYTES} bytes"
    return None


def suggest_index_name(name: str) -> str:
    """A valid index name close to ``name``: lower case, forbidden characters as ``-``, trimmed.

    For any input the result satisfies ``index_name_problem(result) is None``; a name that is already
    valid is returned unchanged.
    """
    if index_name_problem(name) is None:
        return name
    text = "".join("-" if c in _FORBIDDEN else c for c in name.lower())
    text = text.lstrip(_FORBIDDEN_START + ".")
    while "--" in text:
        text = text.replace("--", "-")
    encoded = text.encode("utf-8")[:MAX_INDEX_NAME_BYTES]
    text = encoded.decode("utf-8", "ignore").rstrip("-")
    if not text or text != text.lower():  # e.g. a character whose lower case is not lower case again
        text = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in text).strip("-")
    return text if index_name_problem(text) is None and text else "index"


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
