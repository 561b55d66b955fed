"""Names that would pass for a report: which they are, the name to use instead, where they are kept."""

from __future__ import annotations

import pytest

from producer.inbox.ledger import stored_source
from producer.inbox.report_names import (
    name_without_report_suffix,
    report_name_problem,
    report_suffix,
    stored_name,
)


@pytest.mark.parametrize(
    ("name", "suffix", "instead"),
    [
        ("x.json.manifest.json", ".manifest.json", "x.json-manifest.json"),
        ("y.json.error.json", ".error.json", "y.json-error.json"),
        ("z.jsonl.rejected.jsonl", ".rejected.jsonl", "z.jsonl-rejected.jsonl"),
        ("Y.JSON.ERROR.JSON", ".ERROR.JSON", "Y.JSON-ERROR.JSON"),  # a case-insensitive disk: the same
        ("error.json", None, "error.json"),  # nothing before the suffix: no file's report
        ("errors.json", None, "errors.json"),
        ("x.json.manifest.json.gz", None, "x.json.manifest.json.gz"),  # reports are never compressed
        ("manifest.json", None, "manifest.json"),
    ],
)
def test_report_suffixes_are_found_and_a_working_name_is_offered(
    name: str, suffix: str | None, instead: str
) -> None:
    assert report_suffix(name) == suffix
    assert name_without_report_suffix(name) == instead
    assert report_suffix(instead) is None, "the offered name must itself be accepted"


def test_the_problem_says_why_and_what_to_rename_it_to() -> None:
    problem = report_name_problem("x.json.manifest.json")
    assert problem is not None
    assert "'.manifest.json'" in problem
    assert "another file's report" in problem
    assert problem.endswith("rename it to 'x.json-manifest.json'")
    assert report_name_problem("x.json") is None


def test_a_report_like_file_is_kept_under_a_name_no_report_or_input_has() -> None:
    assert stored_name("x.json") == "x.json"
    assert stored_name("y.json.error.json") == "y.json.error.json.refused"
    assert stored_source("games/y.json.error.json") == "games/y.json.error.json.refused"
    assert stored_source("a.json") == "a.json"
