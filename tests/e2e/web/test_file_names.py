"""A file whose name is not Latin-1 (issue 16, item 3) goes through the page like any other: the upload
completes (its source header is percent-encoded and the page decodes it), and its numbers settle."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import SAMPLE, Bridge, figure, short_name, wait_settled

pytestmark = pytest.mark.integration

NAME = "日本語 ゲーム €.jsonl"


def test_a_file_named_outside_latin_1_is_uploaded_and_settles(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    named = tmp_path / NAME
    shutil.copy(SAMPLE / "games.jsonl", named)
    dataset = short_name(unique_name, "names")
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(named))
    card = page.locator(".file").first
    card.locator(".shape", has_text="JSON Lines").wait_for()
    page.click("#start-all")
    wait_settled(page, card)
    assert figure(card, "state") == "done"
    assert figure(card, "indexed") == "10"
    [shown] = bridge.status(dataset)["datasets"]
    assert [row["source"] for row in shown["sources"]] == [f"{dataset}/{NAME}"]
