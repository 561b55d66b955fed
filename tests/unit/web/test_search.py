"""The search request the page sends to OpenSearch, and which fields can be a facet."""

from __future__ import annotations

from spoolbridge.web.conflicts import facet_fields
from spoolbridge.web.search import MARK_END, MARK_START, SearchQuery, search_body


def test_a_query_is_a_lenient_simple_query_string_with_marked_highlights_and_a_facet() -> None:
    body = search_body(
        SearchQuery('"Glass Atlas" -demo', ["games"], facet="genres.keyword", size=500), "source"
    )
    assert body["query"] == {
        "simple_query_string": {"query": '"Glass Atlas" -demo', "lenient": True, "default_operator": "and"}
    }
    assert body["size"] == 100, "capped"
    assert body["track_total_hits"] is True
    assert (body["highlight"]["pre_tags"], body["highlight"]["post_tags"]) == ([MARK_START], [MARK_END])
    assert body["aggs"] == {"facet": {"terms": {"field": "genres.keyword", "size": 15}}}


def test_an_empty_query_matches_everything_without_a_facet() -> None:
    body = search_body(SearchQuery("  ", []), "source")
    assert body["query"] == {"match_all": {}}
    assert "aggs" not in body


def test_facets_are_keyword_like_fields_and_keyword_sub_fields() -> None:
    properties = {
        "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "genres": {"type": "keyword"},
        "price": {"type": "float"},
        "windows": {"type": "boolean"},
        "developer": {"properties": {"country": {"type": "keyword"}, "bio": {"type": "text"}}},
    }
    assert facet_fields(properties) == ["name.keyword", "genres", "windows", "developer.country"]
