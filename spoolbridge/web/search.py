"""Search over one dataset or all of them: a simple query string, the hit count, highlighted matches with
their source file, the document itself, and top terms of a keyword field (a facet).

Highlights come back with U+E000 before and U+E001 after each match (private-use characters, never HTML;
control characters would be trimmed by the highlighter), so the page builds them with text nodes and no
document text is ever interpreted as markup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import ConfigError

from .catalog import Catalog
from .field_query import FieldFilter, QueryError, query_clause
from .mapped_fields import MappedField, title_field

__all__ = ["MARK_END", "MARK_START", "SearchQuery", "search", "search_body"]

log = logging.getLogger(__name__)

MARK_START, MARK_END = "\ue000", "\ue001"
MAX_SIZE = 100


@dataclass(frozen=True)
class SearchQuery:
    """What the page asks: ``text`` in the query box's syntax (:mod:`.field_query`; empty = everything),
    ``filters`` its chips."""

    text: str
    datasets: list[str]
    facet: str | None = None
    offset: int = 0
    size: int = 20
    only: tuple[str, str] | None = None  # (field, term): a facet's term the user clicked
    filters: list[FieldFilter] = field(default_factory=list)

    @property
    def needs_fields(self) -> bool:
        """Whether the query names fields, so the datasets' mappings must be read to build it."""
        return bool(self.filters) or ":" in self.text


def search_body(
    query: SearchQuery, source_field: str, fields: dict[str, MappedField] | None = None
) -> dict[str, Any]:
    """The OpenSearch request body for ``query`` over datasets with ``fields``; raises
    :class:`QueryError` for a field the datasets do not have or a value of the wrong type."""
    match, _ = query_clause(query.text.strip(), query.filters, fields or {})
    if query.only is not None:
        only_field, term = query.only
        if "bool" in match:
            match["bool"]["filter"].append({"term": {only_field: term}})
        else:
            match = {"bool": {"must": [match], "filter": [{"term": {only_field: term}}]}}
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
    """The page's answer: ``total``, ``hits`` (index, id, source file, title, highlights, document),
    ``facet`` (term, count), ``title_field`` and ``problem`` (why there is no answer: no dataset yet,
    OpenSearch unreachable, a query that names a field the datasets lack or that OpenSearch refused)."""
    from opensearchpy.exceptions import NotFoundError, TransportError

    source_field = catalog.settings.producer.source_field
    answer: dict[str, Any] = {"total": 0, "hits": [], "facet": [], "problem": None, "title_field": None}
    try:
        indices, problem = catalog.readable_indices(query.datasets)
        if problem is not None:
            answer["problem"] = problem
            return answer
        fields = catalog.mapped(query.datasets)
        answer["title_field"] = title_field(fields)
        # expand_wildcards=none: the names were resolved to concrete indices; nothing may widen them
        response = catalog.client().search(
            index=",".join(indices),
            body=search_body(query, source_field, fields),
            params={"ignore_unavailable": "true", "allow_no_indices": "true", "expand_wildcards": "none"},
        )
    except QueryError as exc:
        answer["problem"] = str(exc)
        return answer
    except NotFoundError:
        return answer
    except (ConfigError, TransportError) as exc:
        answer["problem"] = catalog.opensearch_problem(exc)
        if isinstance(exc, TransportError) and getattr(exc, "status_code", None) != 400:
            log.warning("datasets=%s event=search_failed status=%s", query.datasets, exc.status_code)
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
