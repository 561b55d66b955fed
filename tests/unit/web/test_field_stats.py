"""The requests behind a field's values, the table's sort and the export's cells (issue 18, items 1, 3, 4)."""

from __future__ import annotations

from typing import Any

import pytest

from spoolbridge.web.export import csv_cell, csv_rows, export_columns
from spoolbridge.web.field_query import QueryError
from spoolbridge.web.field_stats import (
    SEARCH_TIMEOUT,
    field_counts_body,
    histogram_body,
    nice_interval,
    top_values_body,
    values_pattern,
)
from spoolbridge.web.hit_table import column_values, sort_clause
from spoolbridge.web.mapped_fields import mapped_fields

FIELDS = mapped_fields(
    {
        "country": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "summary": {"type": "text"},
        "population": {"type": "long"},
        "source": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "tags": {"properties": {"name": {"type": "keyword"}}},
    }
)


def test_one_request_asks_values_missing_distinct_and_range() -> None:
    body = top_values_body({"match_all": {}}, FIELDS["population"], offset=20, size=10)
    aggs = body["aggs"]
    assert aggs["values"]["terms"] == {
        "field": "population",
        "size": 30,
        "order": [{"_count": "desc"}, {"_key": "asc"}],
    }
    assert aggs["missing"] == {"missing": {"field": "population"}}
    assert aggs["distinct"]["cardinality"] == {"field": "population", "precision_threshold": 3000}
    assert aggs["range"] == {"stats": {"field": "population"}}
    assert body["size"] == 0 and body["track_total_hits"] is True
    assert body["timeout"] == SEARCH_TIMEOUT  # in the body: opensearch-py reads a ``timeout`` param itself
    text = top_values_body({"match_all": {}}, FIELDS["country"], offset=0, size=5, within="ca")
    assert text["aggs"]["values"]["terms"]["field"] == "country.keyword"
    assert text["aggs"]["values"]["terms"]["include"] == ".*[cC][aA].*"
    assert "range" not in text["aggs"]
    with pytest.raises(ValueError, match="no exact values"):
        top_values_body({"match_all": {}}, FIELDS["summary"], offset=0, size=5)


def test_every_search_limits_opensearch_s_time_in_its_body() -> None:
    bodies = [
        field_counts_body({"match_all": {}}, ["country"]),
        histogram_body({"match_all": {}}, FIELDS["population"], 0, 100),
        top_values_body({"match_all": {}}, FIELDS["country"], offset=0, size=5),
    ]
    assert [body["timeout"] for body in bodies] == [SEARCH_TIMEOUT] * 3


def test_searching_within_values_escapes_what_lucene_would_read() -> None:
    assert values_pattern("a.b*") == ".*[aA]\\.[bB]\\*.*"
    assert values_pattern("é1") == ".*[éÉ]1.*"


@pytest.mark.parametrize(
    ("low", "high", "width"), [(0, 100, 5.0), (0, 1, 0.05), (3, 3, 1.0), (-1000, 250_000, 20000.0)]
)
def test_histogram_bars_are_round_and_at_most_twenty(low: float, high: float, width: float) -> None:
    assert nice_interval(low, high) == width
    assert high - low <= 20 * width or high == low


def test_sort_uses_exact_forms_and_ends_in_a_unique_tiebreaker() -> None:
    assert sort_clause([("country", "desc")], FIELDS) == [
        {"country.keyword": {"order": "desc", "missing": "_last", "unmapped_type": "keyword"}},
        {"_index": {"order": "asc"}},
        {"_id": {"order": "asc"}},
    ]
    assert sort_clause([], FIELDS)[0] == {"_score": {"order": "desc"}}
    with pytest.raises(QueryError, match="summary is text without exact values"):
        sort_clause([("summary", "asc")], FIELDS)
    with pytest.raises(QueryError, match="asc or desc"):
        sort_clause([("country", "up")], FIELDS)


def test_column_values_follow_paths_through_lists() -> None:
    document = {"a": {"b": 1}, "tags": [{"name": "x"}, {"name": "y"}, {"other": 1}], "n": None}
    assert column_values(document, "a.b") == 1
    assert column_values(document, "tags.name") == ["x", "y"]
    assert column_values(document, "missing") is None


def test_csv_cells_keep_values_and_make_formulas_inert() -> None:
    assert csv_cell("plain") == "plain"
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("-3 apples") == "'-3 apples"
    assert csv_cell(-3) == "-3"
    assert csv_cell(True) == "true"
    assert csv_cell(None) == ""
    assert csv_cell(["a", 1]) == '["a",1]'
    assert (csv_cell(2**70), csv_cell(1.5), csv_cell(1e16)) == (str(2**70), "1.5", "1e+16")
    assert export_columns([], FIELDS, "source") == ["source", "country", "population", "summary", "tags.name"]
    assert export_columns(["country"], FIELDS, "source") == ["country"]


def test_a_page_of_hits_becomes_csv_lines_with_every_kind_of_cell() -> None:
    hits: list[dict[str, Any]] = [
        {"_id": "1", "_source": {"n": 3, "name": 'say "hi", then\nleave', "a": {"b": False}, "tags": ["x"]}},
        {"_id": "2", "_source": {"n": None, "name": "=1+1", "tags": [{"k": 1}, {"k": 2}], "o": {"k": 1}}},
        {"_id": "3"},
    ]
    lines = csv_rows(hits, ["n", "name", "a.b", "tags", "tags.k", "o"]).decode()
    assert lines == (
        '1,3,"say ""hi"", then\nleave",false,x,,\r\n'
        '2,,\'=1+1,,"[{""k"":1},{""k"":2}]","[1,2]","{""k"":1}"\r\n'
        "3,,,,,,\r\n"
    )
