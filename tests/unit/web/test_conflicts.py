"""A file's fields against an existing mapping: the conflicts OpenSearch would reject, and nothing else."""

from __future__ import annotations

import pytest

from spoolbridge.web.conflicts import SampleField, find_conflicts, flatten_mapping

MAPPING = {
    "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    "price": {"type": "float"},
    "appid": {"type": "long"},
    "free": {"type": "boolean"},
    "released": {"type": "date"},
    "developer": {"properties": {"name": {"type": "keyword"}, "id": {"type": "long"}}},
    "tags": {"type": "nested", "properties": {"label": {"type": "keyword"}}},
    "where": {"type": "geo_point"},
}


def test_flatten_mapping_names_every_field_by_its_dotted_path() -> None:
    assert flatten_mapping(MAPPING) == {
        "name": "text",
        "price": "float",
        "appid": "long",
        "free": "boolean",
        "released": "date",
        "developer": "object",
        "developer.name": "keyword",
        "developer.id": "long",
        "tags": "nested",
        "tags.label": "keyword",
        "where": "geo_point",
    }


def _field(*kinds: str, examples: tuple[str, ...] = ()) -> SampleField:
    return SampleField(frozenset(kinds), examples)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("name", _field("string", "integer", "float", "boolean", "null")),
        ("price", _field("integer", "float", "string", examples=("9.99", " 12 ", "1e3"))),
        ("appid", _field("integer", "null")),
        ("free", _field("boolean", "string", examples=("true", "false"))),
        (
            "released",
            _field("string", "integer", examples=("2020-01-31", "2020-01-31T10:00:00Z", "1577836800000")),
        ),
        ("developer", _field("object")),
        ("developer.id", _field("integer")),
        ("where", _field("string", examples=("not judged",))),
        ("new_field", _field("object", "string")),
    ],
)
def test_values_opensearch_accepts_are_no_conflict(path: str, field: SampleField) -> None:
    assert find_conflicts(flatten_mapping(MAPPING), {path: field}) == []


@pytest.mark.parametrize(
    ("path", "field", "reason"),
    [
        ("price", _field("string", examples=("9.99", "free")),
         "price is float in the dataset, but the file has text that is not a number there (e.g. 'free')"),
        ("appid", _field("boolean"), "appid is long in the dataset, but the file has true/false there"),
        ("free", _field("integer"), "free is boolean in the dataset, but the file has numbers there"),
        ("free", _field("string", examples=("yes",)), "free is boolean in the dataset, but the file has text "
         "other than true/false there (e.g. 'yes')"),
        ("released", _field("string", examples=("Jan 2020",)),
         "released is date in the dataset, but the file has text that is not a date there (e.g. 'Jan 2020')"),
        ("developer", _field("string"), "developer is object in the dataset, but the file has text there"),
        ("tags", _field("integer"), "tags is nested in the dataset, but the file has an integer there"),
        ("name", _field("object"), "name is text in the dataset, but the file has an object there"),
    ],
)  # fmt: skip
def test_conflicts_say_which_field_what_it_is_and_what_the_file_has(
    path: str, field: SampleField, reason: str
) -> None:
    [conflict] = find_conflicts(flatten_mapping(MAPPING), {path: field})
    assert conflict.field == path
    assert conflict.reason == reason
