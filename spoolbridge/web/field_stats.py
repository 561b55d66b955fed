"""What a field holds, as an analyst asks it: the dataset's fields with how many documents have each, and
for one field its top values with counts and shares, what the rest adds up to ("other"), how many documents
lack it ("missing"), how many distinct values it has, and for numbers and dates the range and a small
histogram.

Every figure is of the documents the current search matches (all of them when nothing is searched), and
says so: ``total`` is that number, every share is of it. Distinct counts come from OpenSearch's
``cardinality`` aggregation, exact up to :data:`EXACT_DISTINCT` values and an estimate above
(``distinct_exact`` says which); top values on an index of several shards may be off by ``error_bound``
documents.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .mapped_fields import MappedField

__all__ = [
    "EXACT_DISTINCT",
    "HISTOGRAM_BARS",
    "MAX_VALUES",
    "SEARCH_TIMEOUT",
    "field_counts_body",
    "field_list",
    "histogram_body",
    "nice_interval",
    "top_values",
    "top_values_body",
    "values_pattern",
]

EXACT_DISTINCT = 3000  # cardinality's precision threshold: counts below it are exact
MAX_VALUES = 10_000  # how deep the values of one field can be paged
HISTOGRAM_BARS = 20
_EXISTS_PER_REQUEST = 200
_MAX_LISTED = 2000  # fields whose document counts are asked; beyond, the count is unknown (and says so)
#: OpenSearch's time for one of these searches (it stops and answers partial). In the body: a ``timeout``
#: among opensearch-py's params is taken for the client's socket timeout, which must be a number.
SEARCH_TIMEOUT = "30s"
_LUCENE_SPECIAL = re.compile(r'([.?+*|{}\[\]()"\\#@&<>~^$])')


def values_pattern(within: str) -> str:
    """A terms ``include`` pattern matching values that contain ``within``, ignoring case (Lucene regular
    expressions have no flag for it, so each letter becomes ``[xX]``)."""
    out = []
    for char in within:
        if char.lower() != char.upper():
            out.append(f"[{char.lower()}{char.upper()}]")
        else:
            out.append(_LUCENE_SPECIAL.sub(r"\\\1", char))
    return f".*{''.join(out)}.*"


def top_values_body(
    query: dict[str, Any], mapped: MappedField, *, offset: int, size: int, within: str = ""
) -> dict[str, Any]:
    """One request for a field's values ``offset`` to ``offset + size``, its missing and distinct counts,
    and its range (numbers and dates)."""
    if mapped.exact is None:
        raise ValueError(f"{mapped.path} has no exact values to count")
    terms: dict[str, Any] = {
        "field": mapped.exact,
        "size": min(offset + size, MAX_VALUES),
        "order": [{"_count": "desc"}, {"_key": "asc"}],
    }
    if within:
        terms["include"] = values_pattern(within)
    aggs: dict[str, Any] = {
        "values": {"terms": terms},
        "missing": {"missing": {"field": mapped.exact}},
        "distinct": {"cardinality": {"field": mapped.exact, "precision_threshold": EXACT_DISTINCT}},
    }
    if mapped.ranged:
        aggs["range"] = {"stats": {"field": mapped.exact}}
    return {"size": 0, "query": query, "track_total_hits": True, "timeout": SEARCH_TIMEOUT, "aggs": aggs}


def nice_interval(low: float, high: float, bars: int = HISTOGRAM_BARS) -> float:
    """A round bar width (1, 2 or 5 times a power of ten) giving at most ``bars`` bars from low to high."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / bars
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if step * power >= raw:
            return float(step * power)
    return float(10 * power)


def histogram_body(query: dict[str, Any], mapped: MappedField, low: float, high: float) -> dict[str, Any]:
    """A histogram of a number or date field with about :data:`HISTOGRAM_BARS` bars."""
    if mapped.kind == "date":
        agg: dict[str, Any] = {"auto_date_histogram": {"field": mapped.path, "buckets": HISTOGRAM_BARS}}
    else:
        agg = {
            "histogram": {
                "field": mapped.path,
                "interval": nice_interval(low, high),
                "min_doc_count": 0,
                "extended_bounds": {"min": low, "max": high},
            }
        }
    return {
        "size": 0,
        "query": query,
        "track_total_hits": False,
        "timeout": SEARCH_TIMEOUT,
        "aggs": {"bars": agg},
    }


def top_values(
    client: Any,
    indices: list[str],
    query: dict[str, Any],
    mapped: MappedField,
    *,
    offset: int = 0,
    size: int = 20,
    within: str = "",
) -> dict[str, Any]:
    """A field's values among the documents ``query`` matches in ``indices``: ``values`` (value, count,
    share), ``other`` (documents with the field whose value is not in the values asked so far),
    ``missing``, ``distinct`` (+ ``distinct_exact``), ``total``, and for numbers and dates ``range`` and
    ``histogram``."""
    offset = max(0, min(offset, MAX_VALUES - 1))
    size = max(1, min(size, MAX_VALUES - offset))
    params = {"ignore_unavailable": "true", "allow_no_indices": "true", "expand_wildcards": "none"}
    found = client.search(
        index=",".join(indices),
        body=top_values_body(query, mapped, offset=offset, size=size, within=within),
        params=params,
    )
    total = int(found["hits"]["total"]["value"])
    aggs = found.get("aggregations", {})
    terms = aggs.get("values", {})
    buckets = terms.get("buckets", [])
    missing = int(aggs.get("missing", {}).get("doc_count", 0))
    distinct = int(aggs.get("distinct", {}).get("value", 0))
    answer: dict[str, Any] = {
        "field": mapped.path,
        "type": mapped.type,
        "total": total,
        "with_field": total - missing,
        "missing": missing,
        "missing_share": _share(missing, total),
        "distinct": distinct,
        "distinct_exact": distinct < EXACT_DISTINCT,
        "offset": offset,
        "values": [
            {
                "value": b.get("key_as_string", b["key"]),
                "count": int(b["doc_count"]),
                "share": _share(int(b["doc_count"]), total),
            }
            for b in buckets[offset : offset + size]
        ],
        "more": len(buckets) > offset + size or int(terms.get("sum_other_doc_count", 0)) > 0,
        "other": int(terms.get("sum_other_doc_count", 0))
        + sum(int(b["doc_count"]) for b in buckets[offset + size :]),
        "error_bound": int(terms.get("doc_count_error_upper_bound", 0)),
        "within": within,
    }
    answer["other_share"] = _share(answer["other"], total)
    stats = aggs.get("range")
    if stats is not None and stats.get("count"):
        low, high = float(stats["min"]), float(stats["max"])
        answer["range"] = {
            "min": stats.get("min_as_string", stats["min"]),
            "max": stats.get("max_as_string", stats["max"]),
        }
        bars = client.search(
            index=",".join(indices), body=histogram_body(query, mapped, low, high), params=params
        )
        answer["histogram"] = [
            {"from": b.get("key_as_string", b["key"]), "count": int(b["doc_count"])}
            for b in bars.get("aggregations", {}).get("bars", {}).get("buckets", [])
        ]
    return answer


def field_counts_body(query: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """One request counting, for each of ``paths``, the documents that have it."""
    filters = {str(i): {"exists": {"field": path}} for i, path in enumerate(paths)}
    aggs = {"has": {"filters": {"filters": filters}}}
    return {"size": 0, "query": query, "track_total_hits": True, "timeout": SEARCH_TIMEOUT, "aggs": aggs}


def field_list(
    client: Any, indices: list[str], query: dict[str, Any], fields: dict[str, MappedField]
) -> dict[str, Any]:
    """The fields of the mapping with, for each, the documents among those ``query`` matches that have
    it (``documents``; None for fields past the first :data:`_MAX_LISTED`, with ``unknown`` saying so)."""
    paths = sorted(fields)
    counted = paths[:_MAX_LISTED]
    counts: dict[str, int] = {}
    total = 0
    params = {"ignore_unavailable": "true", "allow_no_indices": "true", "expand_wildcards": "none"}
    for start in range(0, len(counted), _EXISTS_PER_REQUEST) or [0]:
        chunk = counted[start : start + _EXISTS_PER_REQUEST]
        found = client.search(index=",".join(indices), body=field_counts_body(query, chunk), params=params)
        total = int(found["hits"]["total"]["value"])
        buckets = found.get("aggregations", {}).get("has", {}).get("buckets", {})
        for i, path in enumerate(chunk):
            counts[path] = int(buckets.get(str(i), {}).get("doc_count", 0))
    listed = [
        {**fields[path].as_dict(), "documents": counts.get(path), "share": _share(counts.get(path), total)}
        for path in paths
    ]
    unknown = (
        f"documents are counted for the first {_MAX_LISTED} of {len(paths)} fields only"
        if len(paths) > _MAX_LISTED
        else None
    )
    return {"total": total, "fields": listed, "unknown": unknown}


def _share(count: int | None, total: int) -> float | None:
    return None if count is None or total <= 0 else count / total
