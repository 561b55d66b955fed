"""A big upload through the page survives a page reload and a dropped connection: it resumes from the
server's offset each time, and every record arrives exactly once."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Bridge, figure, screenshot, short_name, wait_settled
from .proxy import CuttingProxy

pytestmark = pytest.mark.integration

#: A few hundred MB, as the page is meant for; smaller for a quick local run.
BIG_MB = int(os.environ.get("SPOOLBRIDGE_TEST_BIG_UPLOAD_MB", "200"))


def _big_file(path: Path, megabytes: int) -> int:
    """JSON Lines of ~1 KB records, ``megabytes`` long; returns the number of records."""
    pad = "x" * 960
    count = 0
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < megabytes * 1024 * 1024:
            out.writelines(
                f'{{"n": {count + i}, "name": "game {count + i}", "pad": "{pad}"}}\n' for i in range(1000)
            )
            count += 1000
    return count


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.timeout(900)
def test_a_big_upload_resumes_after_a_reload_and_a_dropped_connection(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    big = tmp_path / "big.jsonl"
    records = _big_file(big, BIG_MB)
    dataset = short_name(unique_name, "big")
    port = int(bridge.url.rsplit(":", 1)[1].strip("/"))
    size = big.stat().st_size
    with CuttingProxy(port) as proxy:
        url = f"http://127.0.0.1:{proxy.port}/"
        page.goto(url)
        page.fill("#dataset", dataset)
        page.locator("#dataset-check", has_text="new dataset").wait_for()
        page.set_input_files("#files", str(big))
        card = page.locator(".file").first
        proxy.hold_at(size // 5)  # the network stalls at 20 %, and the page is reloaded
        card.locator(".start").click()
        _wait_for(lambda: proxy.forwarded >= size // 5, 300, "the upload did not reach 20 %")

        dialogs: list[str] = []

        def leave(dialog: Any) -> None:  # leaving mid-upload asks first; the person leaves anyway
            dialogs.append(dialog.type)
            dialog.accept()

        page.once("dialog", leave)
        page.reload()  # the page forgets everything but the upload's address (localStorage)
        assert dialogs == ["beforeunload"], "leaving during an upload warns"
        proxy.release()
        page.fill("#dataset", dataset)
        page.locator("#dataset-check", has_text="dataset").wait_for()
        page.set_input_files("#files", str(big))
        card = page.locator(".file").first
        proxy.cut_at(size * 3 // 5)  # then the connection drops at 60 %
        card.locator(".start").click()
        page.locator(".file[data-resumed-at]").wait_for()
        resumed_at = int(card.get_attribute("data-resumed-at") or "0")
        assert resumed_at >= size // 10, "the reload resumed from the server's offset, not from 0"

        page.locator('.file[data-resumes="1"]').wait_for()  # resumed once, after the cut
        assert proxy.cuts == 1
        card.locator('tr[data-figure="indexed"]').wait_for(timeout=300_000)  # the pipeline's numbers
        _wait_for(
            lambda: figure(card, "indexed") not in ("0", "—") or card.locator(".links a").count() > 0,
            300,
            "nothing was indexed",
        )
        screenshot(page, "upload-in-progress", tmp_path)
        wait_settled(page, card, timeout_ms=600_000)

    assert figure(card, "state") == "done"
    for label in ("records read", "produced", "indexed"):
        assert figure(card, label) == f"{records:,}", (label, card.inner_text())
    assert (figure(card, "rejected"), figure(card, "dead-lettered")) == ("0", "0")
    assert (bridge.inbox / "done" / dataset / "big.jsonl").stat().st_size == big.stat().st_size
    leftovers = [p.name for p in (bridge.inbox / dataset).iterdir()]
    assert leftovers == [], "no part file is left behind"
