"""The query box's ``field:value`` syntax and the chips, as OpenSearch clauses, and the sentences for a
query the page will not send (issue 18, item 2)."""

from __future__ import annotations

from typing import Any

import pytest

from spoolbridge.web.field_query import FieldFilter, QueryError, filters_from_json, query_clause
from spoolbridge.web.mapped_fields import mapped_fields, title_field

PROPERTIES: dict[str, Any] = {
    "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    "country": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    "summary": {"type": "text"},
    "population": {"type": "long"},
    "area": {"type": "float"},
    "capital": {"type": "boolean"},
    "founded": {"type": "date"},
    "code": {"type": "keyword"},
    "location": {"properties": {"lat": {"type": "float"}, "region": {"type": "keyword"}}},
}
FIELDS = mapped_fields(PROPERTIES)


def _bool(text: str, chips: list[FieldFilter] | None = None) -> dict[str, Any]:
    query, _ = query_clause(text, chips or [], FIELDS)
    return query["bool"]  # type: ignore[no-any-return]


def test_the_mapping_gives_each_field_its_kind_and_exact_form() -> None:
    assert FIELDS["country"].exact == "country.keyword"
    assert FIELDS["summary"].exact is None
    assert FIELDS["population"].kind == "number" and FIELDS["population"].integral
    assert FIELDS["location"].kind == "object" and FIELDS["location.region"].exact == "location.region"
    assert "country.keyword" not in FIELDS


def test_free_text_alone_stays_a_simple_query_string() -> None:
    query, conditions = query_clause('"Glass Atlas" -demo', [], FIELDS)
    assert query == {
        "simple_query_string": {"query": '"Glass Atlas" -demo', "lenient": True, "default_operator": "and"}
    }
    assert conditions == []
    assert query_clause("", [], FIELDS)[0] == {"match_all": {}}


def test_a_field_value_is_an_exact_case_insensitive_term_on_the_keyword_form() -> None:
    found = _bool("country:CA lake")
    assert found["filter"] == [{"term": {"country.keyword": {"value": "CA", "case_insensitive": True}}}]
    assert found["must"][0]["simple_query_string"]["query"] == "lake"
    assert found["must_not"] == []


def test_quoted_values_negation_exists_and_a_text_field_without_keyword() -> None:
    found = _bool('country:"United Kingdom" -code:XX summary:"old harbour" location:*')
    assert found["filter"] == [
        {"term": {"country.keyword": {"value": "United Kingdom", "case_insensitive": True}}},
        {"match_phrase": {"summary": "old harbour"}},
        {"exists": {"field": "location"}},
    ]
    assert found["must_not"] == [{"term": {"code": {"value": "XX", "case_insensitive": True}}}]
    assert found["must"] == [{"match_all": {}}]
    assert _bool("-location:*")["must_not"] == [{"exists": {"field": "location"}}]


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("population:>1000", {"gt": 1000}),
        ("population:>=1000", {"gte": 1000}),
        ("population:<10", {"lt": 10}),
        ("population:<=10", {"lte": 10}),
        ("population:[10 TO 20]", {"gte": 10, "lte": 20}),
        ("population:{10 TO 20}", {"gt": 10, "lt": 20}),
        ("population:[10 TO *]", {"gte": 10}),
        ("area:[0.5 TO 2.5}", {"gte": 0.5, "lt": 2.5}),
        ("founded:[2020-01-01 TO 2020-12-31]", {"gte": "2020-01-01", "lte": "2020-12-31"}),
    ],
)
def test_ranges_for_numbers_and_dates(text: str, bounds: dict[str, Any]) -> None:
    (clause,) = _bool(text)["filter"]
    assert clause == {"range": {text.split(":", maxsplit=1)[0]: bounds}}


def test_numbers_and_booleans_are_typed_and_big_integers_kept_exact() -> None:
    assert _bool("population:9007199254740993")["filter"] == [{"term": {"population": 9007199254740993}}]
    assert _bool("area:2.5")["filter"] == [{"term": {"area": 2.5}}]
    assert _bool("capital:TRUE")["filter"] == [{"term": {"capital": True}}]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("contry:CA", 'no field "contry" in this dataset; did you mean country'),
        ("http://example.com", 'no field "http"'),
        ("population:many", 'population holds numbers (long); "many" is not one'),
        ("population:2.5", "holds whole numbers"),
        ("area:nan", "not a finite number"),
        ("capital:yes", "capital is true or false"),
        ("name:[a TO b]", "name is text: ranges are for number and date fields"),
        ("population:[1 TO]", "is not a range"),
        ("-population:>5", "cannot be negated"),
        ("location:north", "location is an object"),
    ],
)
def test_a_query_the_page_will_not_send_says_why(text: str, says: str) -> None:
    with pytest.raises(QueryError, match=None) as refused:
        query_clause(text, [], FIELDS)
    assert says in str(refused.value)


def test_quoted_text_is_never_a_field() -> None:
    query, _ = query_clause('"http://example.com"', [], FIELDS)
    assert query["simple_query_string"]["query"] == '"http://example.com"'


def test_chips_from_the_page_combine_with_the_query_box() -> None:
    chips = filters_from_json(
        [
            {"op": "is", "field": "country", "value": "CA"},
            {"op": "is_not", "field": "code", "value": "X"},
            {"op": "missing", "field": "capital"},
            {"op": "range", "field": "population", "low": "10", "high": None},
        ]
    )
    found = _bool("population:<100", chips)
    assert found["filter"] == [
        {"range": {"population": {"lt": 100}}},
        {"term": {"country.keyword": {"value": "CA", "case_insensitive": True}}},
        {"range": {"population": {"gte": 10}}},
    ]
    assert found["must_not"] == [
        {"term": {"code": {"value": "X", "case_insensitive": True}}},
        {"exists": {"field": "capital"}},
    ]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"op": "is"}, "must be a list"),
        ([{"op": "like", "field": "a"}], "needs an op"),
        ([{"op": "is", "field": ""}], "needs a field"),
        ([{"op": "is", "field": "country"}], "needs a value"),
        ([{"op": "is", "field": "country", "value": "x" * 2000}], "at most 1024"),
        ([{"op": "exists", "field": "country"}] * 33, "at most 32"),
    ],
)
def test_malformed_chips_are_refused(raw: Any, says: str) -> None:
    with pytest.raises(QueryError) as refused:
        filters_from_json(raw)
    assert says in str(refused.value)


def test_a_sensible_title_field() -> None:
    assert title_field(FIELDS) == "name"
    assert (
        title_field(mapped_fields({"city_name": {"type": "keyword"}, "zip": {"type": "keyword"}}))
        == "city_name"
    )
    assert title_field(mapped_fields({"zip": {"type": "keyword"}, "n": {"type": "long"}})) is None
