"""What an analyst types and clicks, as an OpenSearch query: free text, ``field:value`` in the query box, and
the filter chips (a value kept or excluded, a field present or absent).

The query box takes free text in simple query string syntax plus, anywhere in it:

- ``field:value`` and ``field:"two words"``: documents whose field is that value (exactly, ignoring case,
  when the field has an exact form; as a phrase in a text field without one);
- ``-field:value``: documents whose field is not that value;
- ``field:*``: documents that have the field;
- ``field:>10``, ``field:>=10``, ``field:<10``, ``field:<=10``, ``field:[10 TO 20]`` (inclusive),
  ``field:{10 TO 20}`` (exclusive), ``*`` for an open end: ranges, for number and date fields.

A field the dataset does not have, a value of the wrong type for its field, or a range on a field that has no
order is a :class:`QueryError` with a sentence saying so (and the nearest field names), never a silent
zero. Text in quotes is always free text, so ``"http://example.com"`` searches for the address.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .mapped_fields import MappedField

__all__ = ["MAX_FILTERS", "FieldFilter", "QueryError", "filters_from_json", "query_clause"]

Op = Literal["is", "is_not", "exists", "missing", "range"]
MAX_FILTERS = 32  # chips in one query: more is not a person clicking
_MAX_VALUE = 1024
_FIELD_TOKEN = re.compile(
    r'(?P<neg>-)?(?P<field>[^\s:"()\[\]{}\\]+):'
    r'(?P<value>"(?:[^"\\]|\\.)*"?|[\[{][^\]}]*[\]}]|(?:>=|<=|[<>])?[^\s]+)'
)
_RANGE = re.compile(r"(?P<open>[\[{])\s*(?P<low>\S+)\s+TO\s+(?P<high>\S+)\s*(?P<close>[\]}])", re.IGNORECASE)
_COMPARISON = re.compile(r"(?P<op>>=|<=|[<>])(?P<value>.+)")


class QueryError(ValueError):
    """A query the page will not send: the message says what is wrong and how to say it instead."""


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """One condition on one field: ``value`` for is/is_not, ``low``/``high`` (None = open) for a range."""

    op: Op
    field: str
    value: str | None = None
    low: str | None = None
    high: str | None = None
    include_low: bool = True
    include_high: bool = True

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"op": self.op, "field": self.field}
        if self.op in ("is", "is_not"):
            found["value"] = self.value
        if self.op == "range":
            found.update(
                low=self.low, high=self.high, include_low=self.include_low, include_high=self.include_high
            )
        return found


@dataclass
class _Plan:
    free: list[str] = field(default_factory=list)
    filters: list[FieldFilter] = field(default_factory=list)


def query_clause(
    text: str, filters: list[FieldFilter], fields: dict[str, MappedField]
) -> tuple[dict[str, Any], list[FieldFilter]]:
    """The ``query`` of a search for ``text`` (the query box) and ``filters`` (the chips) over a dataset
    with ``fields``, and the field conditions the query box held (the page shows them). Raises
    :class:`QueryError`."""
    plan = _parse(text, fields)
    conditions = [*plan.filters, *filters]
    if len(conditions) > MAX_FILTERS:
        raise QueryError(f"at most {MAX_FILTERS} field conditions in one search")
    free = " ".join(plan.free).strip()
    must: list[dict[str, Any]] = (
        [{"simple_query_string": {"query": free, "lenient": True, "default_operator": "and"}}] if free else []
    )
    keep: list[dict[str, Any]] = []
    drop: list[dict[str, Any]] = []
    for condition in conditions:
        clause, negated = _clause(condition, fields)
        (drop if negated else keep).append(clause)
    if not keep and not drop:
        return (must[0] if must else {"match_all": {}}), plan.filters
    return {"bool": {"must": must or [{"match_all": {}}], "filter": keep, "must_not": drop}}, plan.filters


def filters_from_json(raw: Any) -> list[FieldFilter]:
    """The chips as the page sends them (a JSON list of ``{"op", "field", "value" | "low", "high"}``)."""
    if not isinstance(raw, list):
        raise QueryError("filters must be a list")
    if len(raw) > MAX_FILTERS:
        raise QueryError(f"at most {MAX_FILTERS} filters in one search")
    found = []
    for item in raw:
        if not isinstance(item, dict) or item.get("op") not in ("is", "is_not", "exists", "missing", "range"):
            raise QueryError("each filter needs an op: is, is_not, exists, missing or range")
        strings = {key: item.get(key) for key in ("field", "value", "low", "high")}
        if not isinstance(strings["field"], str) or not strings["field"]:
            raise QueryError("each filter needs a field")
        for key, value in strings.items():
            too_long = value is not None and len(str(value)) > _MAX_VALUE
            if too_long or (value is not None and not isinstance(value, str | int | float)):
                raise QueryError(f"a filter's {key} must be text of at most {_MAX_VALUE} characters")
        text = {key: None if value is None else str(value) for key, value in strings.items()}
        if item["op"] in ("is", "is_not") and text["value"] is None:
            raise QueryError(f"the filter on {text['field']} needs a value")
        found.append(
            FieldFilter(
                item["op"],
                str(text["field"]),
                text["value"],
                text["low"],
                text["high"],
                bool(item.get("include_low", True)),
                bool(item.get("include_high", True)),
            )
        )
    return found


def _parse(text: str, fields: dict[str, MappedField]) -> _Plan:
    plan = _Plan()
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        if text[at] == '"':
            end = _quote_end(text, at)
            plan.free.append(text[at:end])
            at = end
            continue
        token = _FIELD_TOKEN.match(text, at)
        if token is None:
            end = at
            while end < len(text) and not text[end].isspace():
                end += 1
            plan.free.append(text[at:end])
            at = end
            continue
        plan.filters.append(_condition(token["field"], token["value"], bool(token["neg"]), fields))
        at = token.end()
    return plan


def _quote_end(text: str, start: int) -> int:
    at = start + 1
    while at < len(text):
        if text[at] == "\\":
            at += 2
            continue
        if text[at] == '"':
            return at + 1
        at += 1
    return len(text)


def _condition(name: str, value: str, negated: bool, fields: dict[str, MappedField]) -> FieldFilter:
    _known(name, fields)
    if value == "*":
        return FieldFilter("missing" if negated else "exists", name)
    if value[:1] in "[{":
        found = _RANGE.fullmatch(value)
        if found is None:
            raise QueryError(f"{name}:{value} is not a range: write {name}:[low TO high] (* for no bound)")
        if negated:
            raise QueryError(f"-{name}:{value}: a range cannot be negated; use the opposite range")
        low, high = (None if v == "*" else v for v in (found["low"], found["high"]))
        return FieldFilter("range", name, None, low, high, found["open"] == "[", found["close"] == "]")
    comparison = _COMPARISON.fullmatch(value)
    if comparison is not None:
        if negated:
            raise QueryError(f"-{name}:{value}: a comparison cannot be negated; use the opposite one")
        op, bound = comparison["op"], comparison["value"]
        if op.startswith(">"):
            return FieldFilter("range", name, None, bound, None, op == ">=", True)
        return FieldFilter("range", name, None, None, bound, True, op == "<=")
    if value.startswith('"'):
        value = re.sub(r"\\(.)", r"\1", value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:])
    return FieldFilter("is_not" if negated else "is", name, value)


def _known(name: str, fields: dict[str, MappedField]) -> MappedField:
    found = fields.get(name)
    if found is not None:
        return found
    near = difflib.get_close_matches(name, list(fields), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise QueryError(
        f'no field "{name}" in this dataset{hint} (to search for the text "{name}:…", put it in quotes)'
    )


def _clause(condition: FieldFilter, fields: dict[str, MappedField]) -> tuple[dict[str, Any], bool]:
    """The OpenSearch clause of one condition, and whether documents matching it are to be left out."""
    mapped = _known(condition.field, fields)
    if condition.op in ("exists", "missing"):
        return {"exists": {"field": mapped.path}}, condition.op == "missing"
    if condition.op == "range":
        if not mapped.ranged:
            raise QueryError(f"{mapped.path} is {mapped.type}: ranges are for number and date fields")
        bounds: dict[str, Any] = {}
        if condition.low is not None:
            bounds["gte" if condition.include_low else "gt"] = _typed(mapped, condition.low)
        if condition.high is not None:
            bounds["lte" if condition.include_high else "lt"] = _typed(mapped, condition.high)
        return {"range": {mapped.path: bounds}}, False
    value = str(condition.value)
    negated = condition.op == "is_not"
    if mapped.kind == "object":
        raise QueryError(
            f"{mapped.path} is an object: filter on a field inside it ({mapped.path}.…), "
            f"or ask {mapped.path}:*"
        )
    if mapped.kind == "keyword" or (mapped.kind == "text" and mapped.exact is not None):
        exact = mapped.exact or mapped.path
        return {"term": {exact: {"value": value, "case_insensitive": True}}}, negated
    if mapped.kind == "text":
        return {"match_phrase": {mapped.path: value}}, negated
    return {"term": {mapped.path: _typed(mapped, value)}}, negated


def _typed(mapped: MappedField, value: str) -> Any:
    """``value`` checked against ``mapped``'s type (numbers and booleans; dates are OpenSearch's to parse)."""
    if mapped.kind == "number":
        if mapped.integral and re.fullmatch(r"[-+]?\d{1,20}", value.strip()):
            return int(value)  # exactly: a long's digits are more than a float keeps
        try:
            number = float(value)
        except ValueError:
            raise QueryError(f'{mapped.path} holds numbers ({mapped.type}); "{value}" is not one') from None
        if not math.isfinite(number):
            raise QueryError(f'{mapped.path} holds numbers; "{value}" is not a finite number')
        if mapped.integral and not number.is_integer():
            raise QueryError(f'{mapped.path} holds whole numbers ({mapped.type}); "{value}" is not one')
        return int(number) if mapped.integral else number
    if mapped.kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise QueryError(f'{mapped.path} is true or false; "{value}" is neither')
        return value.lower() == "true"
    return value
