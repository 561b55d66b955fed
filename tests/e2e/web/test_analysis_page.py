"""The analyst's three questions answered on the page alone, in Chromium, against the real node (issue 18,
item 8): how many records of a genre (a value's count and share, found by typing it), how many unique
records (the documents at a glance), and what share came from which file; then a filter chip kept in the
URL, a wrong field named, the table paged to its last hit, and an export whose rows are the hits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.datasets import Datasets
from schemas.settings import Settings
from tests.conftest import Endpoints

from .conftest import serve_page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

GENRES = {"Action": 120, "Indie": 60, "Racing": 15, **{f"G{i:02d}": 3 for i in range(20)}}  # 255 with a genre
WITHOUT_GENRE = 45
TOTAL = sum(GENRES.values()) + WITHOUT_GENRE  # 300
FILES = {"games-a.json": 180, "games-b.json": 120}


def _games() -> list[dict[str, Any]]:
    genres = [g for g, n in GENRES.items() for _ in range(n)] + [None] * WITHOUT_GENRE
    files = [f for f, n in FILES.items() for _ in range(n)]
    games = []
    for i in range(TOTAL):
        game: dict[str, Any] = {"title": f"Game {i:03d}", "price": i % 50, "source": files[i]}
        if genres[i] is not None:
            game["genre"] = genres[i]
        games.append(game)
    return games


@pytest.fixture
def games_page(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    opensearch_client: Any,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[tuple[str, str, list[dict[str, Any]], str]]:
    from opensearchpy import helpers

    name = unique_name("games")[:50].rstrip("-")
    index = Datasets(settings_factory()).get(name).index
    (tmp_path / "inbox" / name).mkdir(parents=True)
    (tmp_path / "inbox" / name / "games-a.json").write_text("[]")
    games = _games()
    opensearch_client.indices.create(index=index, body={"settings": {"number_of_replicas": 0}})
    try:
        helpers.bulk(
            opensearch_client,
            ({"_index": index, "_id": f"g{i}", "_source": g} for i, g in enumerate(games)),
            refresh=True,
        )
        with serve_page(tmp_path, **endpoints.env()) as url:
            yield url, name, games, index
    finally:
        opensearch_client.indices.delete(index=index, ignore_unavailable=True)


def shown_share(count: int) -> str:
    """A share as the page writes it (Intl percent, at most one decimal, en locale)."""
    text = f"{100 * count / TOTAL:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _cells(row: Any) -> list[str]:
    return [str(text).strip() for text in row.locator("td").all_inner_texts()]


def test_the_three_questions_filters_paging_and_export(
    games_page: tuple[str, str, list[dict[str, Any]], str], page: Any, tmp_path: Path, opensearch_client: Any
) -> None:
    url, name, games, index = games_page
    page.goto(f"{url}#search?dataset={name}")
    _answer_the_three_questions(page)
    _chips_and_the_query_box(page)
    _page_the_table_to_its_last_hit(page, games)
    from opensearchpy import helpers

    indie = helpers.scan(
        opensearch_client, index=index, query={"query": {"term": {"genre.keyword": "Indie"}}}
    )
    _export_the_hits(page, games, tmp_path, {hit["_id"] for hit in indie})


def _answer_the_three_questions(page: Any) -> None:
    # unique records and the share per file, without a click
    sources = page.locator("#sources")
    sources.locator("strong", has_text="300 documents").wait_for()
    assert "games-a.json 180 (60%)" in sources.inner_text()
    assert "games-b.json 120 (40%)" in sources.inner_text()

    # how many of a genre: the field list, the genre's values with shares, "missing", distinct
    page.locator("#field-list button.field-name", has_text="genre").click()
    values = page.locator("#values")
    values.locator(".values-table td.value", has_text="Action").wait_for()
    rows = values.locator(".values-table tbody tr:not(.bucket)")
    assert _cells(rows.nth(0))[:3] == ["Action", "120", "40%"]
    ranked = sorted(GENRES.items(), key=lambda kv: (-kv[1], kv[0]))[:20]  # the first 20, as shown
    shown = [_cells(rows.nth(i))[:3] for i in range(rows.count())]
    assert shown == [[g, str(n), shown_share(n)] for g, n in ranked]
    other = sum(n for _, n in sorted(GENRES.items(), key=lambda kv: (-kv[1], kv[0]))[20:])
    assert _cells(values.locator("tr.bucket", has_text="other"))[:2] == ["other", str(other)]
    listed = page.locator("#field-list li", has_text="genre").first.inner_text()
    assert f"{TOTAL - WITHOUT_GENRE} · 85%" in listed
    missing = values.locator("tr.bucket", has_text="missing")
    assert _cells(missing)[:3] == ["missing", "45", "15%"]
    assert "23 distinct values" in values.inner_text()
    # a genre outside the top values, found by searching within them
    page.fill("#values-within", "g07")
    values.locator(".values-table td.value", has_text="G07").wait_for()
    assert rows.count() == 1 and _cells(rows.nth(0))[:2] == ["G07", "3"]
    page.fill("#values-within", "")
    values.locator(".values-table td.value", has_text="Action").wait_for()


def _chips_and_the_query_box(page: Any) -> None:
    # keep only one value: a chip, in the URL, the hits and the figures follow
    page.locator('button[aria-label="only genre Racing"]').click()
    page.locator("#search-summary", has_text="15 hits").wait_for()
    assert page.locator("#chips .chip").inner_text().startswith("genre is Racing")
    assert "filters=" in page.url
    page.reload()
    page.locator("#search-summary", has_text="15 hits").wait_for()  # the chip came back from the URL
    page.locator("#chips .chip").click()  # removed
    page.locator("#search-summary", has_text="300 hits").wait_for()

    # field:value in the query box, and a field that does not exist
    page.fill("#q", "genre:indie")
    page.click("#search-form button[type=submit]")
    page.locator("#search-summary", has_text="60 hits").wait_for()
    page.fill("#q", "genra:indie")
    page.click("#search-form button[type=submit]")
    page.locator("#search-summary", has_text='no field "genra"').wait_for()
    assert "genre" in page.inner_text("#search-summary")


def _page_the_table_to_its_last_hit(page: Any, games: list[dict[str, Any]]) -> None:
    # the table, sorted by title, paged to the last hit
    page.fill("#q", "")
    page.click("#search-form button[type=submit]")
    page.locator("#search-summary", has_text="300 hits").wait_for()
    page.click('#view-switch [data-view="table"]')
    page.locator("#table-status", has_text="300 hits").wait_for()
    page.locator("#hit-table th button.sort", has_text="title").click()  # sorted by title, descending
    page.locator("#hit-table th[aria-sort=descending]", has_text="title").wait_for()
    page.locator("#hit-table tbody tr td:nth-child(2)", has_text="Game 299").first.wait_for()
    assert page.locator("#hit-table tbody tr td:nth-child(2)").first.inner_text() == "Game 299"
    assert "sort=title%3Adesc" in page.url
    while page.locator("#more-rows").is_visible():
        shown = page.locator("#hit-table tbody tr").count()
        page.click("#more-rows")
        page.wait_for_function("n => document.querySelectorAll('#hit-table tbody tr').length > n", arg=shown)
    assert page.locator("#hit-table tbody tr").count() == TOTAL
    assert page.inner_text("#rows-shown") == "300 shown"
    titles = page.locator("#hit-table tbody tr td:nth-child(2)").all_inner_texts()
    assert titles == sorted((g["title"] for g in games), reverse=True)
    page.locator("#hit-table tbody tr").first.locator("button.open").click()
    page.locator("#hit-table .document-row pre").wait_for()


def _export_the_hits(
    page: Any, games: list[dict[str, Any]], tmp_path: Path, opensearch_ids: set[str]
) -> None:
    # an export of the hits with a chip: exactly them
    page.click('#view-switch [data-view="list"]')
    page.locator('#field-list button.field-name:text-is("genre")').click()
    page.locator('button[aria-label="only genre Indie"]').click()
    page.locator("#search-summary", has_text="60 hits").wait_for()
    with page.expect_download() as download:
        page.click("#export-csv")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    exported = list(csv.reader(io.StringIO(saved.read_text())))
    assert len(exported) == 61 and exported[0][0] == "_id"
    expected = {f"g{i}" for i, g in enumerate(games) if g.get("genre") == "Indie"}
    assert {row[0] for row in exported[1:]} == expected
    assert {row[0] for row in exported[1:]} == opensearch_ids, "the export holds what OpenSearch matches"
    page.locator("#export-status", has_text="exported 60 rows").wait_for()
