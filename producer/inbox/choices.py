"""A dataset's id field chosen on the page, kept with the producer's other state in the inbox:
``<inbox>/.spoolbridge/datasets/<name>.json`` holds ``{"id_field": "app_id"}``.

The page offers the choice only for a new dataset, and the first file uploaded with it makes the choice;
from then on every file of the dataset is read with it, whether uploaded or dropped in the folder. A choice
cannot change (every document id would change with it), except that the page takes back a choice the
file that made it refutes (its values repeat, :mod:`spoolbridge.web.idscan`); and
``[datasets.<name>] id_field`` in the configuration wins over it: the configuration is what an operator
reads and versions.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from producer.inbox.versions import STATE_DIR_NAME
from schemas.datasets import Dataset

__all__ = ["ChoiceError", "DatasetChoices"]


class ChoiceError(ValueError):
    """An id field that cannot be chosen for a dataset; the message says why."""


class DatasetChoices:
    """The id fields chosen for the datasets of one inbox (read fresh each time: the page writes them while
    the producer runs)."""

    def __init__(self, inbox: Path) -> None:
        self.folder = inbox / STATE_DIR_NAME / "datasets"

    def id_field(self, name: str) -> str | None:
        """The id field chosen for dataset ``name``, or ``None``."""
        try:
            data = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        chosen = data.get("id_field") if isinstance(data, dict) else None
        return chosen if isinstance(chosen, str) and chosen else None

    def apply(self, dataset: Dataset) -> Dataset:
        """``dataset`` read with its chosen id field, unless the configuration gives it one."""
        if dataset.name is None or dataset.producer.id_field is not None:
            return dataset
        chosen = self.id_field(dataset.name)
        if chosen is None:
            return dataset
        return dataclasses.replace(dataset, producer=dataset.producer.model_copy(update={"id_field": chosen}))

    def choose(self, dataset: Dataset, id_field: str, *, has_files: bool) -> bool:
        """Make ``id_field`` the id field of ``dataset`` (the same choice again is fine); returns whether
        this call made the choice (``False``: it was made already). Raises :class:`ChoiceError` when it
        has another one, or already has files read without one."""
        name = dataset.label
        if not id_field or len(id_field) > 256 or not id_field.isprintable():
            raise ChoiceError(f"id field {id_field!r}: a record's top-level field name, 1 to 256 characters")
        current = self.apply(dataset).producer.id_field
        if current == id_field:
            return False
        if current is not None:
            raise ChoiceError(
                f"dataset {name!r} takes its document ids from the field {current!r}; "
                "upload into a new dataset to use another"
            )
        if dataset.name is None or has_files:
            raise ChoiceError(
                f"dataset {name!r} already has files whose document ids are their file and position; "
                "an id field can only be chosen for a new dataset"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f".{dataset.name}.json.tmp"
        part.write_text(json.dumps({"id_field": id_field}) + "\n", encoding="utf-8")
        os.replace(part, self.folder / f"{dataset.name}.json")
        return True

    def forget(self, name: str) -> None:
        """Remove the id field chosen for dataset ``name`` (none chosen: nothing to do)."""
        (self.folder / f"{name}.json").unlink(missing_ok=True)
