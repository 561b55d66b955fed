"""Which file and dataset names an upload may use: the one place that turns a browser's file name into a
safe name inside a dataset's folder.

A file name keeps only its last path component (``../../x.json`` and ``C:\\x.json`` become ``x.json``),
loses control characters (C0, DEL and C1) and the invisible direction marks and overrides that make a
name read as another (U+202E shows the rest of a name backwards), loses leading dots and spaces (no
hidden names), must end in an extension the producer reads, and must not end like a report the producer
writes beside each file (``.manifest.json``, ``.error.json``, ``.rejected.jsonl``:
:mod:`producer.report_names`). A dataset must be a valid dataset name
(:func:`~schemas.names.dataset_name_problem`) and must not be the inbox's ``done/`` or ``failed/``
folder, which the producer never reads.
"""

from __future__ import annotations

import re
from pathlib import Path

from producer.inbox.readiness import INPUT_SUFFIXES, is_input_name
from producer.inbox.report_names import report_name_problem
from schemas.names import dataset_name_problem
from schemas.settings import ProducerSettings

__all__ = ["MAX_FILE_NAME_BYTES", "UploadNameError", "dataset_folder", "safe_file_name"]

MAX_FILE_NAME_BYTES = 200  # leaves room under the usual 255-byte limit for the temporary name's prefix
# C0, DEL, C1; the bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E-U+200F,
# U+202A-U+202E, U+2066-U+2069)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ACCEPTED = ", ".join(f"{s}, {s}.gz" for s in INPUT_SUFFIXES)


class UploadNameError(ValueError):
    """A file or dataset name an upload cannot use; ``str()`` says why and what to do."""


def safe_file_name(given: str) -> str:
    """The name the uploaded file gets in its dataset's folder; raises :class:`UploadNameError`."""
    name = given.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).lstrip(". ").rstrip(" ")
    if not name:
        raise UploadNameError(f"the file name {given!r} has no usable name left; rename the file")
    if len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        raise UploadNameError(
            f"the file name {name!r} is longer than {MAX_FILE_NAME_BYTES} bytes; shorten it"
        )
    if not is_input_name(name):
        raise UploadNameError(f"{name!r} is not a file spoolbridge reads: its name must end in {_ACCEPTED}")
    if (problem := report_name_problem(name)) is not None:
        raise UploadNameError(f"{name!r} cannot be uploaded: {problem}")
    return name


def dataset_folder(inbox: Path, dataset: str, producer: ProducerSettings) -> Path:
    """The folder of ``dataset`` under ``inbox``; raises :class:`UploadNameError` for a name that cannot
    be a dataset or that is the producer's own ``done/`` or ``failed/`` folder."""
    problem = dataset_name_problem(dataset)
    if problem is not None:
        raise UploadNameError(f"dataset {dataset!r}: {problem}")
    folder = inbox / dataset
    reserved = {producer.done_path.absolute(), producer.failed_path.absolute()}
    if folder.absolute() in reserved:
        raise UploadNameError(
            f"dataset {dataset!r}: the inbox's {dataset}/ folder holds processed files; choose another name"
        )
    return folder
