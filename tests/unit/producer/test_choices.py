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
