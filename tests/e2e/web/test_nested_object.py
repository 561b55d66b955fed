"""A 20 MB nested object of 14 parts (the shape of MDN's browser-compat data) uploaded on the page: the card
says how many parts are searchable and why the others are not, each cause counted with a way out the
person at the page can take, and the counts are OpenSearch's (issue 17)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Bridge, figure, screenshot, short_name, wait_settled

pytestmark = pytest.mark.integration


def _compat_like(path: Path) -> None:
    """14 parts: two small ones, one of 1,200 distinct fields (more than an index allows), and eleven
    of about 1.7 MB each (larger than the 1 MB a record may be in the topic); about 20 MB in all."""
    parts: dict[str, Any] = {
        "browsers": {"chrome": {"name": "Chrome", "releases": 120}, "firefox": {"name": "Firefox"}},
        "webdriver": {"commands": {"status": "ok"}},
        "mathml": {f"element_{i}": {"supported": i % 2 == 0} for i in range(600)},  # 1,200 fields
    }
    for name in ("api", "css", "html", "http", "javascript", "svg", "webassembly", "webextensions",
                 "manifests", "mediatypes", "xpath"):  # fmt: skip
        parts[name] = {f"feature_{i}": {"note": "x" * 160, "version_added": "1"} for i in range(9_000)}
    path.write_text(json.dumps(parts))


@pytest.mark.timeout(300)
def test_a_nested_object_says_which_parts_are_searchable_and_why_the_others_are_not(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str], opensearch_client: Any
) -> None:
    dataset = short_name(unique_name, "compat")
    file = tmp_path / "data.json"
    _compat_like(file)
    assert 19 * 2**20 < file.stat().st_size < 23 * 2**20
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(file))
    card = page.locator(".file").first
    card.locator(".shape", has_text="object of records").wait_for()
    card.locator(".start").click()
    wait_settled(page, card)
    opensearch_client.indices.refresh(index=dataset)
    indexed = opensearch_client.count(index=dataset)["count"]
    assert indexed == 2
    assert (figure(card, "indexed"), figure(card, "dead-lettered"), figure(card, "rejected")) == (
        "2",
        "1",
        "11",
    )
    assert card.get_attribute("data-verdict") == "partly"
    assert (
        card.locator(".status").inner_text() == "Partly done: 2 records are searchable; 12 records are not."
    )
    causes = card.locator(".causes li").all_inner_texts()
    assert len(causes) == 2, causes
    fields = next(c for c in causes if c.startswith("1 record:"))
    assert "1,000 fields its index allows" in fields and "a dataset of its own" in fields
    large = next(c for c in causes if c.startswith("11 records:"))
    assert re.search(r"larger than the [\d.]+ KB a record may be in this dataset's Kafka topic", large), large
    assert "upload the part you need as a file of its own" in large, large
    assert "fix them in the file" not in " ".join(causes), "not something an analyst can do"
    card.scroll_into_view_if_needed()
    assert screenshot(page, "upload-result", tmp_path).stat().st_size > 10_000
