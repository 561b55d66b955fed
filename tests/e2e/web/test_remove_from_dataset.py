"""The page's "Remove from dataset" (issue 17, item 4): a cut file uploaded, then the complete file under
another name; the cut one's card says to drop the complete file under the same name or remove the cut one,
and removing it by keyboard alone leaves the index holding the complete file's documents only, with the
card, ``status`` and OpenSearch agreeing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Bridge, figure, new_context, short_name, wait_settled
from .test_accessibility import AXE, _serious_violations

pytestmark = pytest.mark.integration


def _count(client: Any, index: str, source: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index, body={"query": {"term": {"source.keyword": source}}})["count"])


@pytest.mark.timeout(240)
def test_a_cut_file_is_removed_from_its_dataset_by_keyboard_and_the_counts_agree(
    bridge: Bridge, browser: Any, opensearch_client: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    context = new_context(browser, viewport={"width": 1280, "height": 900}, bypass_csp=True)  # axe is inline
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _remove_the_cut_file(bridge, page, opensearch_client, tmp_path, unique_name)
    finally:
        context.close()
    assert errors == [], f"the page's scripts failed: {errors}"


def _remove_the_cut_file(
    bridge: Bridge, page: Any, opensearch_client: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    from playwright.sync_api import expect

    records = [{"name": f"game {n}", "year": 2000 + n} for n in range(6)]
    text = json.dumps(records)
    cut, whole = tmp_path / "games.json", tmp_path / "games-complete.json"
    cut.write_text(text[: text.index('"game 4"')])  # the copy stopped inside the fifth record
    whole.write_text(text)
    dataset = short_name(unique_name, "remove")
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    cards = page.locator(".file")
    for number, file in enumerate((cut, whole)):  # the cut one first, then the complete one
        page.set_input_files("#files", str(file))
        card = cards.nth(number)
        card.locator(".shape", has_text="array of records").wait_for()
        card.locator(".start").click()
        wait_settled(page, card)
    cut_card, whole_card = cards.nth(0), cards.nth(1)
    assert figure(cut_card, "state") == "failed" and figure(cut_card, "indexed") == "4"
    said = cut_card.locator(".status").inner_text()
    assert "drop the complete file again under the same name, or remove the cut one" in said, said
    assert figure(whole_card, "indexed") == "6"
    cut_source, whole_source = f"{dataset}/games.json", f"{dataset}/games-complete.json"
    assert (
        _count(opensearch_client, dataset, cut_source),
        _count(opensearch_client, dataset, whole_source),
    ) == (
        4,
        6,
    )

    cut_card.locator(".links a", has_text="Error report").focus()
    page.keyboard.press("Tab")  # the card's last action
    expect(cut_card.locator(".remove-from-dataset")).to_be_focused()
    page.keyboard.press("Enter")
    confirm = cut_card.locator(".confirm-removal")
    expect(confirm).to_be_focused()  # asked once more, the focus on the answer
    assert confirm.inner_text() == f"Delete every document of {cut_source}"
    assert _serious_violations(page, AXE.read_text(encoding="utf-8")) == []
    page.keyboard.press("Enter")

    cut_card.locator(".status", has_text="Removed:").wait_for(timeout=120_000)
    assert figure(cut_card, "state") == "removed"
    assert figure(cut_card, "removed from the dataset") == "4 documents deleted"
    assert (figure(cut_card, "indexed"), figure(cut_card, "produced")) == ("0", "0")
    assert "4 documents deleted" in cut_card.locator(".status").inner_text()
    assert cut_card.locator(".remove-from-dataset").count() == 0
    assert (
        _count(opensearch_client, dataset, cut_source),
        _count(opensearch_client, dataset, whole_source),
    ) == (
        0,
        6,
    )
    [shown] = bridge.status(dataset)["datasets"]
    rows = {row["source"]: row for row in shown["sources"]}
    assert (rows[cut_source]["state"], rows[cut_source]["removed"], rows[cut_source]["indexed"]) == (
        "removed",
        4,
        0,
    )
    assert (shown["indexed"], shown["index_documents"], shown["produced"]) == (6, 6, 6)

    page.set_input_files("#files", str(cut))  # chosen again: the page knows its documents went
    again = page.locator(".file").last
    previous = again.locator(".previous")
    previous.wait_for()
    assert "its documents were removed (4 deleted)" in previous.inner_text(), previous.inner_text()
