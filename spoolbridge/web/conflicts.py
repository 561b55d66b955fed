"""Reading a mapping: would a file's fields fit an existing index, and which fields can be a facet?

Would a file's fields fit? The mapping's field types against the kinds of value a
preview of the file holds, as warnings shown before anything is sent.

The preview (made in the browser from the file's first records) names each field by its dotted path, as
OpenSearch flattens objects, with the kinds of JSON value seen there (``string``, ``integer``, ``float``,
``boolean``, ``null``, ``object``) and a few example strings. A kind the mapped type refuses is a conflict:
OpenSearch would reject those documents, and they would end in the dead-letter topic. The rules follow
OpenSearch's defaults (``coerce`` on): numbers and booleans index into text and keyword fields, numeric
strings into number fields, ``true``/``false`` strings into boolean fields, ISO dates and epoch
milliseconds into date fields. Types this module has no rule for (``ip``, ``geo_point``, …) are not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Conflict", "SampleField", "facet_fields", "find_conflicts", "flatten_mapping"]

_INTEGERS = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
_FLOATS = frozenset({"double", "float", "half_float", "scaled_float"})
_TEXTS = frozenset(
    {"text", "keyword", "match_only_text", "wildcard", "constant_keyword", "search_as_you_type"}
)
_OBJECTS = frozenset({"object", "nested"})
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_LEAVES = ("string", "integer", "float", "boolean")
_KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "boolean", "long", "integer", "short", "byte"})


@dataclass(frozen=True, slots=True)
class SampleField:
    """What the preview saw at one dotted path."""

    kinds: frozenset[str]
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field whose values the dataset's mapping refuses: ``reason`` says which and why."""

    field: str
    mapped: str
    seen: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "mapped": self.mapped, "seen": self.seen, "reason": self.reason}


def flatten_mapping(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a.b": "long", "a": "object", …}`` from a mapping's ``properties`` (sub-fields like ``.keyword``
    are left out: they index the same value)."""
    flat: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        children = spec.get("properties")
        flat[path] = str(spec.get("type", "object" if children is not None else "unknown"))
        if isinstance(children, dict):
            flat.update(flatten_mapping(children, f"{path}."))
    return flat


def facet_fields(properties: dict[str, Any], prefix: str = "") -> list[str]:
    """Fields whose top terms make sense: keyword-like fields and the ``.keyword`` of text fields."""
    found = []
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if spec.get("type") in _KEYWORD_TYPES:
            found.append(path)
        for sub, sub_spec in (spec.get("fields") or {}).items():
            if sub_spec.get("type") == "keyword":
                found.append(f"{path}.{sub}")
        if isinstance(spec.get("properties"), dict):
            found += facet_fields(spec["properties"], f"{path}.")
    return found


def find_conflicts(mapped: dict[str, str], sample: dict[str, SampleField]) -> list[Conflict]:
    """The sample's fields that the mapping would refuse, in field order."""
    conflicts = []
    for path in sorted(sample):
        field = sample[path]
        kind = mapped.get(path)
        if kind is None:
            continue  # a new field: dynamic mapping adds it
        reason = _refusal(kind, field)
        if reason is not None:
            seen = ", ".join(sorted(field.kinds - {"null"}))
            conflicts.append(Conflict(path, kind, seen, f"{path} is {kind} in the dataset, {reason}"))
    return conflicts


def _refusal(mapped: str, field: SampleField) -> str | None:
    kinds = field.kinds - {"null"}
    if mapped in _OBJECTS:
        leaves = [k for k in _LEAVES if k in kinds]
        return f"but the file has {_a(leaves[0])} there" if leaves else None
    if "object" in kinds:
        return "but the file has an object there"
    strings = [e for e in field.examples if isinstance(e, str)]
    if mapped in _TEXTS:
        return None
    if mapped in _INTEGERS | _FLOATS:
        if "boolean" in kinds:
            return "but the file has true/false there"
        bad = [s for s in strings if not _NUMBER.fullmatch(s)]
        return f"but the file has text that is not a number there (e.g. {bad[0]!r})" if bad else None
    if mapped == "boolean":
        if kinds & {"integer", "float"}:
            return "but the file has numbers there"
        bad = [s for s in strings if s not in ("true", "false", "")]
        return f"but the file has text other than true/false there (e.g. {bad[0]!r})" if bad else None
    if mapped == "date":
        if "boolean" in kinds:
            return "but the file has true/false there"
        bad = [s for s in strings if not (_DATE.fullmatch(s) or s.isdigit())]
        return f"but the file has text that is not a date there (e.g. {bad[0]!r})" if bad else None
    return None


def _a(kind: str) -> str:
    return {"integer": "an integer", "float": "a number", "boolean": "true/false", "string": "text"}[kind]
