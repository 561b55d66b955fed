"""The texts of a failed file's ``.error.json`` read as English for every hint and count."""

from __future__ import annotations

import re

import pytest

from producer.inbox.reports import rejected_todo, rejected_what, unreadable_file_todo
from producer.read.records import CUT_FILE_HINT

# Every hint the readers give (producer/reader.py, streamed.py, streams.py, scan.py), and none.
HINTS = {
    "": "fix the file, then drop the file again",
    "drop the complete gzip file again": "drop the complete gzip file again",
    CUT_FILE_HINT: CUT_FILE_HINT,
    "drop a file with records": "drop a file with records",
    "drop a JSON object, an array of objects, or JSON Lines": (
        "drop a JSON object, an array of objects, or JSON Lines"
    ),
    "check producer.records_path": "check producer.records_path, then drop the file again",
    "re-export it as UTF-8 (JSON must be UTF-8)": (
        "re-export it as UTF-8 (JSON must be UTF-8), then drop the file again"
    ),
    "flatten the data": "flatten the data, then drop the file again",
    "fix the JSON": "fix the JSON, then drop the file again",
    "the name ends in .gz: compress the file with gzip, or drop the name's .gz": (
        "the name ends in .gz: compress the file with gzip, or drop the name's .gz, then drop the file again"
    ),
}


def _reads_well(text: str) -> None:
    assert not re.search(r"\b1 records\b|\b1 record before the error were\b", text), text
    assert "again, then drop" not in text and "  " not in text, text


@pytest.mark.parametrize("hint", list(HINTS))
def test_unreadable_file_says_the_fix_once_then_to_drop_it_again(hint: str) -> None:
    assert unreadable_file_todo(hint, 0) == f"{HINTS[hint]} (no records were produced before the error)"
    one = unreadable_file_todo(hint, 1)
    assert one == (
        f"{HINTS[hint]} (the 1 record before the error was produced; "
        "producing it again overwrites it, never duplicates it)"
    )
    many = unreadable_file_todo(hint, 7)
    assert many == (
        f"{HINTS[hint]} (the 7 records before the error were produced; "
        "producing them again overwrites them, never duplicates them)"
    )
    for text in (one, many):
        _reads_well(text)


@pytest.mark.parametrize(
    ("rejected", "produced", "expected"),
    [
        (1, 0, "1 record could not be produced, and no other records were in the file"),
        (2, 0, "2 records could not be produced, and no other records were in the file"),
        (1, 1, "1 record could not be produced; 1 record was"),
        (1, 3, "1 record could not be produced; 3 records were"),
        (4, 1, "4 records could not be produced; 1 record was"),
    ],
)
def test_rejected_what_counts_in_english(rejected: int, produced: int, expected: str) -> None:
    assert rejected_what(rejected, produced) == expected


def test_rejected_todo_names_the_report_and_agrees_in_number() -> None:
    assert rejected_todo("a.json", 1) == (
        "see a.json.rejected.jsonl for the record and its reason; fix it and drop the file again "
        "(records already produced are overwritten, not duplicated)"
    )
    assert rejected_todo("a.json", 2).startswith(
        "see a.json.rejected.jsonl for each record and its reason; fix them and drop the file again"
    )


def test_a_cut_file_says_to_drop_the_complete_one_under_the_same_name_or_to_remove_it() -> None:
    todo = unreadable_file_todo(CUT_FILE_HINT, 3, "games/part 1.json")
    assert todo.startswith(
        "the copy was probably incomplete; drop the complete file again under the same name, or remove "
        "the cut one: spoolbridge forget 'games/part 1.json', or \"Remove from dataset\" on its card on "
        "the page (the 3 records before the error were produced;"
    ), todo
    _reads_well(todo)
