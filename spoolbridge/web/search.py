"""Search over one dataset or all of them: a simple query string, the hit count, highlighted matches with
their source file, the document itself, and top terms of a keyword field (a facet).

Highlights come back with U+E000 before and U+E001 after each match (private-use characters, never HTML;
control characters would be trimmed by the highlighter), so the page builds them with text nodes and no
document text is ever interpreted as markup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from schemas.errors import ConfigError

from .catalog import NOT_CONCRETE, Catalog

__all__ = ["MARK_END", "MARK_START", "SearchQuery", "search", "search_body"]

log = logging.getLogger(__name__)

MARK_START, MARK_END = "\ue000", "\ue001"
MAX_SIZE = 100


@dataclass(frozen=True)
class SearchQuery:
    """What the page asks: ``text`` in simple query string syntax (empty = everything)."""

    text: str
    datasets: list[str]
    facet: str | None = None
    offset: int = 0
    size: int = 20
    only: tuple[str, str] | None = None  # (field, term): a facet's term the user clicked


def search_body(query: SearchQuery, source_field: str) -> dict[str, Any]:
    """The OpenSearch request body for ``query``."""
    text = query.text.strip()
    match: dict[str, Any] = (
        {"simple_query_string": {"query": text, "lenient": True, "default_operator": "and"}}
        if text
        else {"match_all": {}}
    )
    if query.only is not None:
        field, term = query.only
        match = {"bool": {"must": [match], "filter": [{"term": {field: term}}]}}
    body: dict[str, Any] = {
        "query": match,
        "from": query.offset,
        "size": min(query.size, MAX_SIZE),
        "track_total_hits": True,
        "highlight": {
            "fields": {"*": {}},
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
            "fragment_size": 150,
            "number_of_fragments": 3,
            "require_field_match": True,
        },
    }
    if query.facet:
        body["aggs"] = {"facet": {"terms": {"field": query.facet, "size": 15}}}
    return body


def search(catalog: Catalog, query: SearchQuery) -> dict[str, Any]:
    """The page's answer: ``total``, ``hits`` (index, id, source file, highlights, document), ``facet``
    (term, count) and ``problem`` (why there is no answer: no dataset yet, OpenSearch unreachable, a query
    OpenSearch refused)."""
    from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

    source_field = catalog.settings.producer.source_field
    named = sorted({catalog.datasets.get(name).index for name in query.datasets})
    answer: dict[str, Any] = {"total": 0, "hits": [], "facet": [], "problem": None}
    if not named:
        answer["problem"] = "no dataset yet: upload a file first"
        return answer
    try:
        indices = [index for index in named if catalog.readable_index(index)]
        if not indices:
            answer["problem"] = f"index {named[0]!r} {NOT_CONCRETE}; the page does not read it"
            return answer
        # expand_wildcards=none: the names were resolved to concrete indices; nothing may widen them
        response = catalog.client().search(
            index=",".join(indices),
            body=search_body(query, source_field),
            params={"ignore_unavailable": "true", "allow_no_indices": "true", "expand_wildcards": "none"},
        )
    except ConfigError as exc:
        answer["problem"] = str(exc)
        return answer
    except NotFoundError:
        return answer
    except RequestError as exc:
        answer["problem"] = f"OpenSearch refused the query: {_reason(exc)}"
        return answer
    except TransportError as exc:
        status = getattr(exc, "status_code", None)
        answer["problem"] = f"OpenSearch at {catalog.settings.opensearch.safe_url} did not answer ({status})"
        log.warning("indices=%s event=search_failed status=%s", indices, status)
        return answer
    answer["total"] = int(response["hits"]["total"]["value"])
    for hit in response["hits"]["hits"]:
        document = hit.get("_source", {})
        answer["hits"].append(
            {
                "index": hit["_index"],
                "id": hit["_id"],
                "source": document.get(source_field) if isinstance(document, dict) else None,
                "highlight": {
                    k: v for k, v in hit.get("highlight", {}).items() if not k.endswith(".keyword")
                },
                "document": document,
            }
        )
    buckets = response.get("aggregations", {}).get("facet", {}).get("buckets", [])
    answer["facet"] = [{"term": b.get("key_as_string", b["key"]), "count": b["doc_count"]} for b in buckets]
    return answer


def _reason(exc: Any) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        causes = info.get("error", {}).get("root_cause") or [{}]
        return str(causes[0].get("reason") or info.get("error", {}).get("reason") or exc.error)
    return str(getattr(exc, "error", "bad request"))
