"""A file named like a report is refused by the page, with the reason and the name to use; nothing of it
reaches the inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.mark.timeout(60)
def test_a_file_named_like_a_report_is_refused_with_a_name_that_works(
    page_only: str, page: Any, tmp_path: Path
) -> None:
    forged = tmp_path / "x.json.manifest.json"
    forged.write_text('{"source": "games/x.json", "records": 999}')
    page.goto(page_only)
    page.fill("#dataset", "games")
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(forged))
    page.locator(".file .start").click()
    status = page.locator(".file .status").filter(has_text="refused")
    status.wait_for()
    text = status.inner_text()
    assert "ends in '.manifest.json', the ending of the reports spoolbridge writes" in text, text
    assert "rename it to 'x.json-manifest.json'" in text, text
    inbox = tmp_path / "inbox"
    assert not (inbox / "games").exists(), "no dataset folder was made"
    assert [p for p in inbox.rglob("*") if p.is_file() and "manifest" in p.name] == []
