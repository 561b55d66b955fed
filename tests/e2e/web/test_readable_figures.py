"""Readable figures (issue 17, item 6): thousands separators, whole docs/s, a remaining time that does not
jump, each state and figure explained on the card, and a missing figure's reason gone once it is back.

The last two are the page's rendering of the server's progress messages: the stream is the one
``GET /api/progress`` sends (``spoolbridge.web.live``; its figures are tested against the real pipeline in
``test_upload_page``), served here with the figures a moment of trouble gives, which the real stack does
not give on demand."""

from __future__ import annotations

import itertools
import json
from typing import Any

from .conftest import new_context

_FIGURES = """async () => {
  const f = await import("/static/figures.js");
  const eta = new f.Eta();
  // the pace the server reports swings (batches land in bursts); the remaining time must not
  const paces = [100, 20, 180, 90, 110, 30, 150];
  const shown = paces.map((pace, i) => eta.update(6000 - i * 200, pace));
  return { count: [f.count(1234567), f.count(0), f.count(999), f.count(null) ?? "none"], shown,
           raw: paces.map((pace, i) => (6000 - i * 200) / pace) };
}"""


def _minutes(text: str) -> float:
    number, unit = text.removeprefix("about ").split()
    return float(number) * {"s": 1 / 60, "min": 1.0, "h": 60.0}[unit]


def test_figures_have_separators_and_the_remaining_time_does_not_jump(browser: Any, page_only: str) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_only)
        got = page.evaluate(_FIGURES)
    finally:
        context.close()
    assert got["count"] == ["1,234,567", "0", "999", "none"]
    minutes = [_minutes(text) for text in got["shown"]]
    raw = [secs / 60 for secs in got["raw"]]
    assert max(raw) / min(raw) > 8, "the raw estimate jumps"
    assert all(later <= earlier * 1.5 for earlier, later in itertools.pairwise(minutes)), minutes
    assert max(minutes) / min(minutes) < 3, minutes


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


def test_a_missing_figures_reason_goes_when_the_figure_is_back(browser: Any, page_only: str) -> None:
    base = {"source": "figures/people.json", "state": "done", "read": 12345, "produced": 12345,
            "rejected": 0, "superseded": 0, "settled": False, "docs_per_s": 1234.56}  # fmt: skip
    trouble = {
        **base,
        "indexed": None,
        "dead_lettered": None,
        "problem": "OpenSearch did not answer (TransportError)",
    }
    back = {**base, "indexed": 2345, "dead_lettered": 0, "problem": None}
    stream = "retry: 600000\n\n" + _event(trouble) + _event(back)  # no reconnection during the test
    context = new_context(browser)
    try:
        page = context.new_page()
        page.route("**/api/progress?*", lambda route: route.fulfill(
            status=200, headers={"Content-Type": "text/event-stream"}, body=stream))  # fmt: skip
        page.goto(page_only)
        page.fill("#dataset", "figures")
        page.locator("#dataset-check", has_text="new dataset").wait_for()
        records = [{"name": "Ada"}, {"name": "Bob"}]
        page.set_input_files("#files", {"name": "people.json", "mimeType": "application/json",
                                        "buffer": json.dumps(records).encode()})  # fmt: skip
        card = page.locator(".file").first
        card.locator(".start").click()
        card.locator('tr[data-figure="indexed"] td', has_text="2,345").wait_for()
        status = card.locator(".status")
        assert "did not answer" not in status.inner_text()
        assert "problem" not in (status.get_attribute("class") or "")
        figures = {label: card.locator(f'tr[data-figure="{label}"] td').nth(1).inner_text()
                   for label in ("records read", "produced", "docs/s")}  # fmt: skip
        assert figures == {"records read": "12,345", "produced": "12,345", "docs/s": "1,235"}
        legend = card.locator(".legend")
        legend.locator("summary").click()
        assert "records OpenSearch refused" in legend.locator("dl").inner_text()
        assert card.locator('tr[data-figure="dead-lettered"]').get_attribute("title")
    finally:
        context.close()
