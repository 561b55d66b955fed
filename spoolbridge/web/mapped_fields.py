"""A dataset's fields as the page's questions need them: for each dotted path, its type, which field holds
its exact values (for counting, filtering and sorting), and what kind of value it takes.

OpenSearch's dynamic mapping gives a JSON string a ``text`` field and an exact ``keyword`` sub-field
(``name.keyword``); counting values, exact filters and sorting use the sub-field, full-text search the
field itself. A field without an exact form (a text field without a keyword sub-field, an object) can only
be searched, or asked whether a document has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Kind", "MappedField", "mapped_fields", "title_field"]

Kind = Literal["text", "keyword", "number", "date", "boolean", "ip", "object", "other"]

_NUMBERS = frozenset(
    {"long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float", "scaled_float"}
)
_KEYWORDS = frozenset({"keyword", "constant_keyword", "wildcard"})
_TEXTS = frozenset({"text", "match_only_text", "search_as_you_type"})
_KINDS: dict[str, Kind] = {
    **{name: "number" for name in _NUMBERS},
    **{name: "keyword" for name in _KEYWORDS},
    **{name: "text" for name in _TEXTS},
    "date": "date",
    "date_nanos": "date",
    "boolean": "boolean",
    "ip": "ip",
    "object": "object",
    "nested": "object",
    "flat_object": "object",
}


@dataclass(frozen=True, slots=True)
class MappedField:
    """One field of a mapping: ``exact`` is the field that holds its whole values (itself, its keyword
    sub-field, or None when there is none)."""

    path: str
    type: str
    kind: Kind
    exact: str | None

    @property
    def integral(self) -> bool:
        return self.type in {"long", "integer", "short", "byte", "unsigned_long"}

    @property
    def ranged(self) -> bool:
        """Values with an order a range or a histogram means something for."""
        return self.kind in ("number", "date")

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.path, "type": self.type, "kind": self.kind, "exact": self.exact}


def mapped_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, MappedField]:
    """Every field of a mapping's ``properties`` by dotted path (objects too; sub-fields such as
    ``.keyword`` are the ``exact`` of their field, not fields of their own)."""
    found: dict[str, MappedField] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        children = spec.get("properties")
        type_ = str(spec.get("type", "object" if children is not None else "unknown"))
        kind = _KINDS.get(type_, "other")
        exact: str | None = None
        if kind in ("keyword", "number", "date", "boolean", "ip"):
            exact = path
        else:
            for sub, sub_spec in (spec.get("fields") or {}).items():
                if sub_spec.get("type") in _KEYWORDS:
                    exact = f"{path}.{sub}"
                    break
        found[path] = MappedField(path, type_, kind, exact)
        if isinstance(children, dict):
            found.update(mapped_fields(children, f"{path}."))
    return found


_TITLE_NAMES = ("name", "title", "label", "headline", "subject", "caption")


def title_field(fields: dict[str, MappedField]) -> str | None:
    """The field that names a document best, for a hit's title: a top-level text or keyword field called
    name, title, label, … (in that order, any case), else one whose name ends in one of those
    (``city_name``, ``gameTitle``), else None (the page shows the id)."""
    leaves = [f for f in fields.values() if "." not in f.path and f.kind in ("text", "keyword")]
    for wanted in _TITLE_NAMES:
        for mapped in leaves:
            if mapped.path.lower() == wanted:
                return mapped.path
    for wanted in _TITLE_NAMES:
        for mapped in sorted(leaves, key=lambda f: (len(f.path), f.path)):
            if mapped.path.lower().endswith(wanted):
                return mapped.path
    return None
