"""The CSV format on its own: column types learnt from every value, never altering one; header names."""

from __future__ import annotations

import pytest

from producer.read.format.csv_values import ColumnTypes, unique_names


def typed(names: list[str], rows: list[list[str]], *, typed: bool = True) -> list[dict[str, object]]:
    together, one_by_one = ColumnTypes(names, typed=typed), ColumnTypes(names, typed=typed)
    together.observe(rows)  # a regex per column over all the rows
    for row in rows:
        one_by_one.observe([row])
    assert together.kinds() == one_by_one.kinds()
    return [together.record(row) for row in rows]


def test_each_column_gets_one_type_from_all_its_values() -> None:
    rows = [["1", "1.5", "true", "x"], ["2", "2", "FALSE", "3"], ["-3", "0.25", "True", "y"]]
    assert typed(["i", "d", "b", "t"], rows) == [
        {"i": 1, "d": 1.5, "b": True, "t": "x"},
        {"i": 2, "d": 2.0, "b": False, "t": "3"},  # "3" in a text column stays text
        {"i": -3, "d": 0.25, "b": True, "t": "y"},
    ]
    types = ColumnTypes(["i", "d", "b", "t", "none"])
    for row in rows:
        types.observe([[*row, ""]])
    assert types.kinds() == {"i": "integer", "d": "decimal", "b": "boolean", "t": "text", "none": "text"}


@pytest.mark.parametrize(
    "text",
    [
        "007",  # leading zeros: a number would drop them
        "+1",
        " 1",
        "1 ",
        "1e5",  # an exponent: kept as written
        "1.",
        ".5",
        "0x1f",
        "nan",
        "inf",
        "0.1000000000000000000001",  # no double is this number
        str(2**63),  # beyond a long
        "1_000",
    ],
)
def test_a_column_whose_text_a_number_would_rewrite_stays_text(text: str) -> None:
    assert typed(["v"], [["1"], [text]]) == [{"v": "1"}, {"v": text}]
    assert typed(["v"], [["1.5"], [text]]) == [{"v": "1.5"}, {"v": text}]


@pytest.mark.parametrize("text", ["1\n2", "1.5\n2", "true\nfalse"])
def test_a_value_with_a_line_break_is_text_even_when_its_lines_are_numbers(text: str) -> None:
    assert typed(["v"], [["1"], [text]]) == [{"v": "1"}, {"v": text}]


def test_long_numbers_are_checked_one_by_one() -> None:
    exact, inexact = "1234567890.123456", "0.1000000000000000000001"
    assert typed(["v"], [["1"], [exact]]) == [{"v": 1.0}, {"v": 1234567890.123456}]
    assert typed(["v"], [["1"], [exact], [inexact]]) == [{"v": "1"}, {"v": exact}, {"v": inexact}]


def test_integers_beyond_a_double_but_within_a_long_stay_integers_not_decimals() -> None:
    big = str(2**60 + 1)
    assert typed(["v"], [[big], ["1"]]) == [{"v": 2**60 + 1}, {"v": 1}]
    assert typed(["v"], [[big], ["1.5"]]) == [{"v": big}, {"v": "1.5"}]  # no double holds both


def test_an_empty_value_is_the_fields_absence_and_does_not_type_the_column() -> None:
    assert typed(["a", "b"], [["1", ""], ["", "x"], ["2", ""]]) == [{"a": 1}, {"b": "x"}, {"a": 2}]


def test_with_typing_off_every_value_is_text() -> None:
    assert typed(["a", "b"], [["1", "true"]], typed=False) == [{"a": "1", "b": "true"}]


@pytest.mark.parametrize(
    ("header", "names", "renamed"),
    [
        (["a", "b"], ["a", "b"], []),
        (["a", "a", "a"], ["a", "a_2", "a_3"], [(2, "a", "a_2"), (3, "a", "a_3")]),
        (["a", "a", "a_2"], ["a", "a_3", "a_2"], [(2, "a", "a_3")]),  # a name the header has is not taken
        (["", "x", ""], ["column_1", "x", "column_3"], [(1, "", "column_1"), (3, "", "column_3")]),
        (["column_2", ""], ["column_2", "column_2_2"], [(2, "", "column_2_2")]),
    ],
)
def test_header_names_are_made_unique_and_non_empty(
    header: list[str], names: list[str], renamed: list[tuple[int, str, str]]
) -> None:
    assert unique_names(header) == (names, renamed)
