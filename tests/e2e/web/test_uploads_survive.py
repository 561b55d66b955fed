"""Uploads that survive a person (issue 17, item 5): an upload left midway is listed by the server to a
page opened anew in another browser, which resumes it from the server's offset when the same file is
chosen; an upload can be cancelled midway (the server keeps nothing of it); finished cards can be
cleared. Every record of the resumed file is in OpenSearch exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Bridge, figure, new_context, short_name, wait_settled
from .proxy import CuttingProxy

pytestmark = pytest.mark.integration


def _file(path: Path, records: int) -> None:
    pad = "y" * 960
    path.write_text("".join(f'{{"n": {n}, "pad": "{pad}"}}\n' for n in range(records)))


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _unfinished(request: Any, url: str) -> list[dict[str, Any]]:
    """The server's list of unfinished uploads (``request``: a context's or page's request API)."""
    return list(json.loads(request.get(url + "api/uploads").body())["uploads"])


def _leave_midway(page: Any, url: str, proxy: CuttingProxy, dataset: str, path: Path) -> None:
    """Start uploading ``path`` into a new dataset, stall the network at a quarter, close the page."""
    page.goto(url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(path))
    quarter = path.stat().st_size // 4
    proxy.hold_at(quarter)
    page.locator(".file .start").click()
    page.locator(".file .cancel").wait_for()  # an upload under way can be cancelled
    _wait_for(lambda: proxy.forwarded >= quarter, 120, "the upload did not reach a quarter")
    page.close(run_before_unload=False)  # the person goes away mid-upload
    proxy.release()


def _cancel_midway(card: Any, proxy: CuttingProxy) -> None:
    """Start the card's upload, stall it after 2 MB, cancel it."""
    proxy.hold_at(proxy.forwarded + 2 * 1024 * 1024)
    card.locator(".start").click()
    card.locator(".cancel").click()
    proxy.release()  # the request the page dropped ends at the server too
    card.locator(".status", has_text="cancelled: the server deleted").wait_for()
    assert card.locator(".start").is_enabled(), "it can be started again"


def _nothing_left(page: Any, bridge: Bridge, dataset: str) -> None:
    assert _unfinished(page.request, bridge.url) == [], "neither upload is left on the server"
    assert not (bridge.inbox / dataset / "other.jsonl").exists(), "the cancelled file never arrived"
    assert not (bridge.inbox / "done" / dataset / "other.jsonl").exists()
    assert [p.name for p in (bridge.inbox / ".spoolbridge" / "uploads").glob("*.part")] == []


def _clear_finished(page: Any) -> None:
    clear = page.locator("#clear-done")
    clear.click()
    assert page.locator(".file").count() == 1, "the finished card is cleared, the cancelled one stays"
    assert page.locator(".file .name").inner_text() == "other.jsonl"
    assert clear.is_hidden()


def _overview_says(page: Any, dataset: str, records: int) -> None:
    """The datasets overview, opened: the server's figures for the dataset (one file, one version, every
    record indexed and accounted for), whatever the browser cleared."""
    page.locator("#overview summary").click()
    row = page.locator(f'#overview tr[data-dataset="{dataset}"]')
    row.wait_for(timeout=60_000)
    cells = row.locator("td").all_inner_texts()
    assert [cells[i] for i in (0, 1, 2, 3, 5, 6, 7)] == [dataset, f"{records:,}", "1", "1", "0", "0", "yes"]
    assert cells[4] != "—", "when its file was settled"


@pytest.mark.timeout(300)
def test_an_upload_left_midway_is_resumed_from_another_browser_cancelled_or_cleared_when_done(
    bridge: Bridge,
    browser: Any,
    tmp_path: Path,
    unique_name: Callable[[str], str],
    opensearch_client: Any,
) -> None:
    records = 20_000  # ~20 MB
    left, other = tmp_path / "left.jsonl", tmp_path / "other.jsonl"
    _file(left, records)
    _file(other, 40_000)  # ~40 MB: more than the sockets between the page and the server can hold
    size = left.stat().st_size
    dataset = short_name(unique_name, "survive")
    port = int(bridge.url.rsplit(":", 1)[1].strip("/"))
    first, second = new_context(browser), new_context(browser)  # two browsers: no storage shared
    try:
        with CuttingProxy(port) as proxy:
            url = f"http://127.0.0.1:{proxy.port}/"
            _leave_midway(first.new_page(), url, proxy, dataset, left)
            _wait_for(lambda: bool(_unfinished(second.request, bridge.url)), 30, "no unfinished upload")

            # another browser, nothing remembered: the server's own list offers the upload
            page = second.new_page()
            page.goto(url)
            listed = page.locator("#unfinished li")
            listed.first.wait_for()
            shown = listed.all_inner_texts()
            assert [f"{dataset}/left.jsonl" in t and "uploaded" in t for t in shown] == [True], shown
            [waiting] = _unfinished(page.request, bridge.url)
            assert (waiting["dataset"], waiting["file_name"]) == (dataset, "left.jsonl")
            assert waiting["length"] == size
            assert 0 < waiting["offset"] < size

            page.fill("#dataset", dataset)
            page.locator("#dataset-check", has_text="dataset").wait_for()
            page.set_input_files("#files", [str(left), str(other)])
            card, cancelled = page.locator(".file").nth(0), page.locator(".file").nth(1)
            note = card.locator(".resumable")
            note.wait_for()
            assert "Upload resumes it from there" in note.inner_text()
            assert cancelled.locator(".resumable").is_hidden(), "only the file the server has is offered"
            card.locator(".start").click()
            page.locator(".file[data-resumed-at]").wait_for()
            assert int(card.get_attribute("data-resumed-at") or "0") == waiting["offset"], "from the server's"

            card.locator(".status", has_text="uploaded:").wait_for()  # its bytes are all in
            _cancel_midway(cancelled, proxy)

            wait_settled(page, card)
            assert figure(card, "indexed") == f"{records:,}"
            assert card.get_attribute("data-verdict") == "success"
            _nothing_left(page, bridge, dataset)
            opensearch_client.indices.refresh(index=dataset)
            assert opensearch_client.count(index=dataset)["count"] == records

            _clear_finished(page)
            _overview_says(page, dataset, records)  # the page's requests still go through the proxy
    finally:
        first.close()
        second.close()
