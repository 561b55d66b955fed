"""The CSV settings: global, overridden per dataset, handed to the reader; a wrong one is one line."""

from __future__ import annotations

import pytest

from schemas.datasets import Datasets
from schemas.errors import ConfigError
from schemas.settings import load_settings


def test_a_dataset_overrides_the_csv_settings_and_the_others_keep_the_global_ones() -> None:
    settings = load_settings(
        {
            "producer": {"csv_delimiter": ";"},
            "datasets": {"tabs": {"csv_delimiter": "\t", "csv_quotechar": "'", "csv_types": "text"}},
        }
    )
    datasets = Datasets(settings)
    tabs, other = datasets.get("tabs").producer, datasets.get("other").producer
    assert (tabs.csv_delimiter, tabs.csv_quotechar, tabs.csv_types) == ("\t", "'", "text")
    assert (other.csv_delimiter, other.csv_quotechar, other.csv_types) == (";", None, "infer")


@pytest.mark.parametrize(
    ("values", "setting"),
    [
        ({"csv_delimiter": ";;"}, "producer.csv_delimiter"),
        ({"csv_quotechar": ""}, "producer.csv_quotechar"),
        ({"csv_types": "guess"}, "producer.csv_types"),
    ],
)
def test_a_wrong_csv_setting_is_one_line_naming_it(values: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"producer": values})
    assert str(caught.value).startswith(f"setting {setting}: ")
    assert "\n" not in str(caught.value)
