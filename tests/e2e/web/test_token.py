"""With web.auth_token, the browser asks once (basic auth) and then the whole page works; without it,
nothing answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import SAMPLE, new_context, serve_page

TOKEN = "t0ken-for-the-page-test"


def test_the_page_works_with_the_token_and_not_without(browser: Any, tmp_path: Path) -> None:
    with serve_page(tmp_path, SPOOLBRIDGE_WEB__AUTH_TOKEN=TOKEN) as url:
        stranger = new_context(browser)
        try:
            response = stranger.request.get(url)  # a navigation would stop at the browser's login prompt
            assert response.status == 401
            assert response.headers["www-authenticate"].startswith("Basic")
            assert TOKEN not in response.text()
        finally:
            stranger.close()
        user = new_context(browser, http_credentials={"username": "analyst", "password": TOKEN})
        try:
            page = user.new_page()
            page.goto(url)
            page.fill("#dataset", "games")
            page.locator("#dataset-check", has_text="new dataset").wait_for()  # OpenSearch not asked
            page.set_input_files("#files", str(SAMPLE / "games.jsonl"))
            page.locator(".file .start").click()
            page.locator('.file[data-source="games/games.jsonl"]').wait_for()
        finally:
            user.close()
    assert (tmp_path / "inbox" / "games" / "games.jsonl").read_bytes() == (
        SAMPLE / "games.jsonl"
    ).read_bytes()
