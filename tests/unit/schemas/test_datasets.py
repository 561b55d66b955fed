"""Dataset naming: folder → dataset, dataset → topic/DLQ/index/settings, topic → dataset, subscription."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas.datasets import DatasetNameError, Datasets
from schemas.errors import ConfigError
from schemas.names import dataset_name_problem, index_name_problem, suggest_dataset_name, suggest_index_name
from schemas.settings import load_settings


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("games", None),
        ("games-2024", None),
        ("a_b", None),
        ("0x", None),
        ("Games", "lower case"),
        ("_games", "start with a letter or digit"),
        ("-games", "start with a letter or digit"),
        ("my games", "only a-z"),
        ("ga.mes", "only a-z"),
        ("jeux-é", "only a-z"),
        ("dlq", "reserved"),
        ("x" * 101, "at most 100"),
    ],
)
def test_dataset_names(name: str, problem: str | None) -> None:
    found = dataset_name_problem(name)
    assert (found is None) == (problem is None)
    if problem is not None:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("Games", "games"), ("my games!", "my-games"), ("_x", "x"), ("dlq", "dlq-data"), ("!!!", "dataset")],
)
def test_suggested_dataset_names_are_valid(name: str, suggestion: str) -> None:
    assert suggest_dataset_name(name) == suggestion
    assert dataset_name_problem(suggestion) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("logs-2024", None),
        ("Logs", "lower case"),
        ("_x", "start with '_'"),
        ("+x", "start with '+'"),
        ("..", "'.' or '..'"),
        ("a b", "space"),
        ("a:b", ":"),
        ("a#b", "#"),
        ("é" * 128, "255 bytes"),
        ("", "empty"),
    ],
)
def test_index_names(name: str, problem: str | None) -> None:
    found = index_name_problem(name)
    assert (found is None) == (problem is None)
    if problem is not None:
        assert found is not None and problem in found
        assert index_name_problem(suggest_index_name(name)) is None


def test_a_file_belongs_to_the_dataset_of_its_first_folder() -> None:
    assert Datasets.name_of_source("games.json") is None
    assert Datasets.name_of_source("games/2024/steam.json") == "games"
    with pytest.raises(DatasetNameError) as refused:
        Datasets.name_of_source("My Games/steam.json")
    assert refused.value.suggestion == "my-games"
    assert "'My Games'" in str(refused.value)


def test_dataset_topics_indices_and_settings(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    settings = load_settings(
        {
            "kafka": {"topic": "acme"},
            "producer": {"id_field": "id"},
            "opensearch": {"index_body_file": body},
            "datasets": {"games": {"index": "steam-games", "records_path": "items"}},
        }
    )
    datasets = Datasets(settings)
    default = datasets.get(None)
    assert (default.topic, default.dead_letter_topic, default.index) == ("acme", "acme.dlq", "acme")
    games = datasets.get("games")
    assert (games.topic, games.dead_letter_topic, games.index) == (
        "acme.games",
        "acme.games.dlq",
        "steam-games",
    )
    assert (games.producer.records_path, games.producer.id_field) == ("items", "id")  # own, else global
    assert games.index_body_file == body
    cars = datasets.get("cars")
    assert (cars.topic, cars.index, cars.producer.records_path) == ("acme.cars", "cars", None)
    assert datasets.of_topic("acme.games") == games
    assert datasets.of_topic("acme") == default
    for other in ("acme.dlq", "acme.games.dlq", "acmegames", "other", "acme.Games"):
        assert datasets.of_topic(other) is None


def test_the_subscription_pattern_matches_dataset_topics_only() -> None:
    datasets = Datasets(load_settings({"kafka": {"topic": "my.topic"}}))
    pattern = re.compile(datasets.subscription()[1])
    for name in (
        "my.topic.games",
        "my.topic.d",
        "my.topic.dl",
        "my.topic.dlqs",
        "my.topic.dlx",
        "my.topic.a-b_c",
    ):
        assert pattern.match(name), name
    for name in (
        "my.topic",
        "my.topic.dlq",
        "my.topic.games.dlq",
        "myxtopic.games",
        "my.topic._x",
        "my.topic.G",
    ):
        assert not pattern.match(name), name


def test_dataset_settings_errors_name_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"setting datasets\.games\.colour: unknown setting"):
        load_settings({"datasets": {"games": {"colour": "red"}}})
    with pytest.raises(
        ConfigError, match=r"\[datasets\.Games\]: dataset names must be lower case.*\[datasets\.games\]"
    ):
        load_settings({"datasets": {"Games": {}}})
    with pytest.raises(
        ConfigError, match=r"setting kafka.dlq_topic: 'spoolbridge.errors' is the topic of dataset"
    ):
        load_settings({"kafka": {"dlq_topic": "spoolbridge.errors"}})
