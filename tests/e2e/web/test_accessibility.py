"""The page by keyboard alone and for assistive technology (issue 17, item 7): axe-core, injected into the
page, finds no serious or critical violation on the upload and search views at 1280x800 and 390x844; a
keyboard-only user chooses a file (Enter and Space on the drop zone open the chooser), uploads it, and
opens a hit and a facet term; the hits keep their width on a phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import REPO, SAMPLE, Bridge, new_context, short_name, wait_settled

AXE = REPO / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, installed by the test toolchain (``make test-toolchain``)."""
    assert AXE.is_file(), f"axe-core is not installed: run make test-toolchain ({AXE.relative_to(REPO)})"
    return AXE.read_text(encoding="utf-8")


def _serious_violations(page: Any, axe_source: str) -> list[str]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source)
    found = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


_COUNT_CHOOSER_CLICKS = """() => {
  window.chooserClicks = 0;
  const count = (e) => { window.chooserClicks++; e.preventDefault(); };
  document.querySelector("#files").addEventListener("click", count);
}"""


_WIDE = """(width) => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > width + 1 && e.checkVisibility())
  .slice(0, 8).map((e) => `${e.tagName}#${e.id}.${e.className} ${e.getBoundingClientRect().right}`)"""


def _tab_to(page: Any, selector: str, most: int = 60, back: bool = False) -> None:
    """Press Tab (Shift+Tab with ``back``) until the focus is on ``selector``: it is reachable by keyboard."""
    for _ in range(most):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def _check_both_sizes(page: Any, axe_source: str, view: str) -> None:
    for name, size in SIZES.items():
        page.set_viewport_size(size)
        assert _serious_violations(page, axe_source) == [], (view, name)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= size["width"], (
            f"{view} at {name}: {wide} px wide",
            page.evaluate(_WIDE, size["width"]),
        )
    page.set_viewport_size(SIZES["desktop"])


def test_a_keyboard_only_user_uploads_a_file_and_opens_a_hit_with_no_serious_violations(
    bridge: Bridge, browser: Any, axe_source: str, unique_name: Callable[[str], str]
) -> None:
    dataset = short_name(unique_name, "keys")
    context = new_context(browser, viewport=SIZES["desktop"], bypass_csp=True)  # axe's script is inline
    try:
        page = context.new_page()
        page.goto(bridge.url)
        _upload_by_keyboard(page, dataset, axe_source)
        _search_by_keyboard(page, dataset, axe_source)
    finally:
        context.close()


def _upload_by_keyboard(page: Any, dataset: str, axe_source: str) -> None:
    # Enter and Space on the drop zone click the file input, as a click on the zone does; the chooser
    # itself is the system's dialog (headless Chromium opens it for a key press only now and then),
    # so the file is then set as that dialog would set it
    _tab_to(page, "#drop")
    page.evaluate(_COUNT_CHOOSER_CLICKS)
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.chooserClicks === 1")
    page.keyboard.press(" ")
    page.wait_for_function("() => window.chooserClicks === 2")
    assert page.evaluate("() => window.scrollY") == 0, "Space opened the chooser, it did not scroll"
    page.set_input_files("#files", str(SAMPLE / "games.jsonl"))
    page.locator(".file .preview table").wait_for()
    _tab_to(page, "#dataset", back=True)
    page.keyboard.type(dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    card = page.locator(".file").first
    card.locator(".preview table").wait_for()
    _check_both_sizes(page, axe_source, "upload view, before sending")
    _tab_to(page, ".file .start")
    page.keyboard.press("Enter")
    wait_settled(page, card)
    _check_both_sizes(page, axe_source, "upload view, with a result")


def _search_by_keyboard(page: Any, dataset: str, axe_source: str) -> None:
    _tab_to(page, "#nav-search", back=True)
    page.keyboard.press("Enter")
    page.locator("#search-dataset option", has_text=dataset).wait_for(state="attached")
    _tab_to(page, "#search-dataset")
    page.keyboard.type(dataset[:12])  # a select picks the option typed, as a person would
    page.wait_for_function("d => document.querySelector('#search-dataset').value === d", arg=dataset)
    _tab_to(page, "#facet-field")
    page.locator("#facet-field option", has_text="genres.keyword").wait_for(state="attached")
    page.keyboard.type("genres.keyword")
    _tab_to(page, "#q", back=True)  # the query box comes before the facet chooser
    page.keyboard.type("puzzle")
    page.keyboard.press("Enter")  # submits the search form
    page.wait_for_function("() => document.querySelector('#results').dataset.query === 'puzzle'")
    assert page.locator("#facet-field").input_value() == "genres.keyword"
    _tab_to(page, "#results .open")
    page.keyboard.press("Enter")
    document = page.locator("#results li").first.locator("pre.document")
    document.wait_for()
    assert page.locator("#results .open").first.get_attribute("aria-expanded") == "true"
    _tab_to(page, "#results pre.document")  # the document view takes the focus (to scroll it)
    _tab_to(page, "#facet .term")
    term = page.evaluate("() => document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.locator("#chips .chip", has_text=f"genres is {term}").wait_for()  # the term became a filter chip
    _check_both_sizes(page, axe_source, "search view")
    page.set_viewport_size(SIZES["phone"])
    width = page.evaluate("() => document.querySelector('#results li').getBoundingClientRect().width")
    assert width > 300, f"a hit is {width} px wide on a phone"
