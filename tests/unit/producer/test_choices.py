"""A dataset's id field chosen on the page: made once for a new dataset, never changed, the config wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.inbox.choices import ChoiceError, DatasetChoices
from schemas.datasets import Datasets
from schemas.settings import DatasetSettings, ProducerSettings, Settings


def _datasets(inbox: Path, **configured: DatasetSettings) -> Datasets:
    return Datasets(Settings(producer=ProducerSettings(inbox=inbox), datasets=configured))


def test_a_new_dataset_takes_the_chosen_id_field_and_keeps_it(tmp_path: Path) -> None:
    datasets, choices = _datasets(tmp_path), DatasetChoices(tmp_path)
    games = datasets.get("games")
    assert choices.apply(games).producer.id_field is None
    choices.choose(games, "app_id", has_files=False)
    assert choices.apply(games).producer.id_field == "app_id"
    assert choices.apply(datasets.get("other")).producer.id_field is None, "one dataset's choice only"
    choices.choose(games, "app_id", has_files=True)  # the same choice again: the next file of the upload
    with pytest.raises(ChoiceError, match="takes its document ids from the field 'app_id'"):
        choices.choose(games, "name", has_files=False)
    assert DatasetChoices(tmp_path).apply(games).producer.id_field == "app_id", "kept on disk"


def test_no_id_field_for_a_dataset_with_files_or_the_default_one(tmp_path: Path) -> None:
    datasets, choices = _datasets(tmp_path), DatasetChoices(tmp_path)
    with pytest.raises(ChoiceError, match="only be chosen for a new dataset"):
        choices.choose(datasets.get("games"), "app_id", has_files=True)
    with pytest.raises(ChoiceError, match="only be chosen for a new dataset"):
        choices.choose(datasets.get(None), "app_id", has_files=False)
    with pytest.raises(ChoiceError, match="top-level field name"):
        choices.choose(datasets.get("games"), "", has_files=False)
    assert choices.apply(datasets.get("games")).producer.id_field is None


def test_the_configured_id_field_wins(tmp_path: Path) -> None:
    datasets = _datasets(tmp_path, games=DatasetSettings(id_field="sku"))
    choices = DatasetChoices(tmp_path)
    choices.choose(datasets.get("games"), "sku", has_files=False)  # what the config says: fine
    with pytest.raises(ChoiceError, match="from the field 'sku'"):
        choices.choose(datasets.get("games"), "app_id", has_files=False)
    (tmp_path / ".spoolbridge" / "datasets").mkdir(parents=True, exist_ok=True)
    (tmp_path / ".spoolbridge" / "datasets" / "games.json").write_text('{"id_field": "app_id"}')
    assert choices.apply(datasets.get("games")).producer.id_field == "sku"


def test_a_new_dataset_takes_the_chosen_records_path_beside_its_id_field(tmp_path: Path) -> None:
    datasets, choices = _datasets(tmp_path), DatasetChoices(tmp_path)
    geo = datasets.get("geo")
    assert choices.choose_records_path(geo, "features", has_files=False)
    assert not choices.choose_records_path(geo, "features", has_files=True), "the same again: fine"
    choices.choose(geo, "id", has_files=False)
    read = DatasetChoices(tmp_path).apply(geo).producer
    assert (read.records_path, read.id_field) == ("features", "id"), "both kept, neither overwrote the other"
    with pytest.raises(ChoiceError, match="reads its records under 'features'"):
        choices.choose_records_path(geo, "items", has_files=False)
    with pytest.raises(ChoiceError, match="only be chosen for a new dataset"):
        choices.choose_records_path(datasets.get("old"), "features", has_files=True)
    with pytest.raises(ChoiceError, match="dotted keys"):
        choices.choose_records_path(datasets.get("new"), "a..b", has_files=False)
    choices.forget("geo")
    assert choices.apply(geo).producer.records_path is None


def test_the_configured_records_path_wins_over_the_chosen_one(tmp_path: Path) -> None:
    configured = _datasets(tmp_path, geo=DatasetSettings(records_path="items")).get("geo")
    choices = DatasetChoices(tmp_path)
    assert not choices.choose_records_path(configured, "items", has_files=True)
    with pytest.raises(ChoiceError, match="reads its records under 'items'"):
        choices.choose_records_path(configured, "features", has_files=False)
