"""OpenSearch's rules for index names, as one pure function, and a name that would work instead.

The rules (OpenSearch ``MetadataCreateIndexService.validateIndexOrAliasName``): lower case only; not
``.`` or ``..``; not starting with ``_``, ``-`` or ``+``; at most 255 bytes of UTF-8; none of
``\\ / * ? " < > | , #``, ``:`` or a space. Names starting with ``.`` are allowed but hidden/system-like
indices; they are accepted here as OpenSearch accepts them.
"""

from __future__ import annotations

__all__ = ["MAX_INDEX_NAME_BYTES", "index_name_problem", "suggest_index_name"]

MAX_INDEX_NAME_BYTES = 255
_FORBIDDEN = '\\/*?"<>| ,#:'
_FORBIDDEN_START = "_-+"


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
