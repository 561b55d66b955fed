"""A dataset's id field and records path chosen on the page, kept with the producer's other state in the
inbox: ``<inbox>/.spoolbridge/datasets/<name>.json`` holds ``{"id_field": "app_id"}`` and/or
``{"records_path": "features"}``.

The page offers the choice only for a new dataset, and the first file uploaded with it makes the choice;
from then on every file of the dataset is read with it, whether uploaded or dropped in the folder. A choice
cannot change (every document id would change with it), except that the page takes back a choice the
file that made it refutes (its values repeat, :mod:`spoolbridge.web.idscan`); and
``[datasets.<name>] id_field`` in the configuration wins over it: the configuration is what an operator
reads and versions. A records path follows the same rules (new dataset only, the configuration's
``records_path`` wins): the page offers the keys of a file that is one object holding its records.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from producer.inbox.versions import STATE_DIR_NAME
from schemas.datasets import Dataset

__all__ = ["ChoiceError", "DatasetChoices"]


_SETTINGS = ("id_field", "records_path")


class ChoiceError(ValueError):
    """An id field that cannot be chosen for a dataset; the message says why."""


class DatasetChoices:
    """The id fields chosen for the datasets of one inbox (read fresh each time: the page writes them while
    the producer runs)."""

    def __init__(self, inbox: Path) -> None:
        self.folder = inbox / STATE_DIR_NAME / "datasets"

    def _chosen(self, name: str) -> dict[str, str]:
        try:
            data = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if k in _SETTINGS and isinstance(v, str) and v}

    def id_field(self, name: str) -> str | None:
        """The id field chosen for dataset ``name``, or ``None``."""
        return self._chosen(name).get("id_field")

    def apply(self, dataset: Dataset) -> Dataset:
        """``dataset`` read with its chosen id field and records path, where the configuration gives it
        none."""
        if dataset.name is None:
            return dataset
        own = dataset.producer
        update = {k: v for k, v in self._chosen(dataset.name).items() if getattr(own, k) is None}
        if not update:
            return dataset
        return dataclasses.replace(dataset, producer=own.model_copy(update=update))

    def choose_records_path(self, dataset: Dataset, records_path: str, *, has_files: bool) -> bool:
        """Make ``records_path`` (dotted) where ``dataset``'s records are (the same choice again is fine);
        returns whether this call made the choice. Raises :class:`ChoiceError` when it has another one
        or already has files."""
        parts = records_path.split(".")
        if len(records_path) > 256 or not records_path.isprintable() or not all(parts):
            raise ChoiceError(f"records path {records_path!r}: dotted keys, 1 to 256 characters")
        return self._choose(
            dataset, "records_path", records_path, has_files=has_files,
            taken="reads its records under {current!r}",
            read_without="has files read as they are; where the records are",
        )  # fmt: skip

    def choose(self, dataset: Dataset, id_field: str, *, has_files: bool) -> bool:
        """Make ``id_field`` the id field of ``dataset`` (the same choice again is fine); returns whether
        this call made the choice (``False``: it was made already). Raises :class:`ChoiceError` when it
        has another one, or already has files read without one."""
        if not id_field or len(id_field) > 256 or not id_field.isprintable():
            raise ChoiceError(f"id field {id_field!r}: a record's top-level field name, 1 to 256 characters")
        return self._choose(
            dataset, "id_field", id_field, has_files=has_files,
            taken="takes its document ids from the field {current!r}",
            read_without="has files whose document ids are their file and position; an id field",
        )  # fmt: skip

    def _choose(
        self, dataset: Dataset, setting: str, value: str, *, has_files: bool, taken: str, read_without: str
    ) -> bool:
        """The rule both choices share: one value, made once, for a new dataset only (``taken`` and
        ``read_without`` word the refusals)."""
        current = getattr(self.apply(dataset).producer, setting)
        if current == value:
            return False
        name = dataset.label
        if current is not None:
            raise ChoiceError(
                f"dataset {name!r} {taken.format(current=current)}; upload into a new dataset to use another"
            )
        if dataset.name is None or has_files:
            raise ChoiceError(f"dataset {name!r} already {read_without} can only be chosen for a new dataset")
        self._write(dataset.name, **{setting: value})
        return True

    def _write(self, name: str, **choice: str) -> None:
        """Add ``choice`` to dataset ``name``'s choices (replaced whole, atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f".{name}.json.tmp"
        part.write_text(json.dumps({**self._chosen(name), **choice}) + "\n", encoding="utf-8")
        os.replace(part, self.folder / f"{name}.json")

    def forget(self, name: str) -> None:
        """Remove the choices made for dataset ``name`` (none made: nothing to do)."""
        (self.folder / f"{name}.json").unlink(missing_ok=True)
