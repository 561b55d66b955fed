"""Upload names: the browser's file name becomes a safe name in the dataset's folder, or a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.settings import ProducerSettings
from spoolbridge.web.names import UploadNameError, dataset_folder, safe_file_name


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("steam.json", "steam.json"),
        ("../../etc/x.json", "x.json"),
        ("/abs/path/x.jsonl", "x.jsonl"),
        ("C:\\Users\\me\\x.ndjson", "x.ndjson"),
        (".hidden.json", "hidden.json"),
        ("..x.json.gz", "x.json.gz"),
        ("a\x00b\nc.json", "abc.json"),
        ("  spaced .json", "spaced .json"),
    ],
)
def test_file_names_lose_folders_hidden_dots_and_control_characters(given: str, kept: str) -> None:
    assert safe_file_name(given) == kept


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("..", "no usable name"),
        ("dir/", "no usable name"),
        ("notes.txt", "must end in .json"),
        ("x.json.part", "must end in .json"),
        ("x.json.tmp", "must end in .json"),
        ("x" * 300 + ".json", "longer than"),
    ],
)
def test_unusable_file_names_say_why(given: str, says: str) -> None:
    with pytest.raises(UploadNameError, match=says):
        safe_file_name(given)


def test_dataset_folder_applies_the_dataset_name_rules(tmp_path: Path) -> None:
    producer = ProducerSettings(inbox=tmp_path)
    assert dataset_folder(tmp_path, "games", producer) == tmp_path / "games"
    for bad in ("", "Games", "../x", "dlq", "a/b", ".uploads"):
        with pytest.raises(UploadNameError, match="dataset"):
            dataset_folder(tmp_path, bad, producer)


def test_dataset_folder_refuses_the_done_and_failed_folders(tmp_path: Path) -> None:
    producer = ProducerSettings(inbox=tmp_path)
    for reserved in ("done", "failed"):
        with pytest.raises(UploadNameError, match="processed files"):
            dataset_folder(tmp_path, reserved, producer)
    moved = ProducerSettings(inbox=tmp_path, done_dir=tmp_path.parent / "elsewhere")
    assert dataset_folder(tmp_path, "done", moved) == tmp_path / "done"


@pytest.mark.parametrize(
    ("given", "instead"),
    [
        ("x.json.manifest.json", "x.json-manifest.json"),
        ("y.json.error.json", "y.json-error.json"),
        ("z.jsonl.Rejected.jsonl", "z.jsonl-Rejected.jsonl"),
    ],
)
def test_names_that_would_pass_for_a_report_are_refused_with_a_name_that_works(
    given: str, instead: str
) -> None:
    with pytest.raises(UploadNameError, match="the ending of the reports spoolbridge writes") as refused:
        safe_file_name(given)
    assert str(refused.value).endswith(f"rename it to {instead!r}")
    assert safe_file_name(instead) == instead


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("a\u0085b.json", "ab.json"),  # C1: NEXT LINE
        ("report\u202egpj.json", "reportgpj.json"),  # RIGHT-TO-LEFT OVERRIDE
        ("\u2066x\u2069\u200e\u200f\u061c.json", "x.json"),  # isolates and marks
        ("\u009fy.json", "y.json"),
        ("日本語.json", "日本語.json"),
    ],
)
def test_c1_controls_and_direction_overrides_are_removed_from_file_names(given: str, kept: str) -> None:
    assert safe_file_name(given) == kept
