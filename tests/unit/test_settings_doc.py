"""The README's settings table is the one the models generate, and every setting explains itself."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from schemas.settings import DatasetSettings, Settings
from spoolbridge.settings_doc import BEGIN, END, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_matches_the_models() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == settings_table(), "regenerate: python -m spoolbridge.settings_doc"


def test_every_setting_has_a_description() -> None:
    missing = []
    for section, section_field in Settings.model_fields.items():
        model = DatasetSettings if section == "datasets" else section_field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        fields = model.model_fields.items()
        missing += [f"{section}.{name}" for name, field in fields if not field.description]
    assert missing == []
