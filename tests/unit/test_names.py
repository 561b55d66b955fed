"""OpenSearch's index name rules (schemas/names.py), and the valid name suggested for an invalid one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.names import index_name_problem, suggest_index_name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("steam", None),
        ("steam-2024.games_v1", None),
        (".hidden", None),
        ("données", None),
        ("a" * 255, None),
        ("", "index names must not be empty"),
        (".", "index names must not be '.' or '..'"),
        ("..", "index names must not be '.' or '..'"),
        ("Steam", "index names must be lower case"),
        ("STEAM", "index names must be lower case"),
        ("_steam", "index names must not start with '_'"),
        ("-steam", "index names must not start with '-'"),
        ("+steam", "index names must not start with '+'"),
        ("a" * 256, "index names must be at most 255 bytes"),
        ("é" * 128, "index names must be at most 255 bytes"),  # 256 bytes of UTF-8
        ("my games", "index names must not contain space"),
        ("a:b", "index names must not contain ':'"),
        ("a#b,c", "index names must not contain ',', '#'"),
        ('a\\b/c*d?e"f<g>h|i', "index names must not contain '\\\\', '/', '*', '?', '\"', '<', '>', '|'"),
    ],
)
def test_index_name_problem(name: str, problem: str | None) -> None:
    assert index_name_problem(name) == problem


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("steam", "steam"),
        ("Steam", "steam"),
        ("Orders.EU", "orders.eu"),
        ("_private", "private"),
        ("--+x", "x"),
        ("my games, 2024", "my-games-2024"),
        ("a:b#c", "a-b-c"),
        (".", "index"),
        ("", "index"),
        ("***", "index"),
        ("A" * 300, "a" * 255),
    ],
)
def test_suggest_index_name(name: str, suggested: str) -> None:
    assert suggest_index_name(name) == suggested


@given(st.text(max_size=300))
def test_every_suggestion_is_a_valid_index_name(name: str) -> None:
    assert index_name_problem(suggest_index_name(name)) is None
