"""The page end to end: drop files, see what they hold, upload, watch the pipeline's numbers to the end."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoints

from .conftest import (
    SAMPLE,
    Bridge,
    figure,
    new_context,
    screenshot,
    short_name,
    start_bridge,
    stop_bridge,
    wait_settled,
)

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_the_steam_sample_arrives_with_the_pipelines_numbers_and_can_be_searched(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    dataset = short_name(unique_name, "steam")
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", [str(SAMPLE / "games-1.json"), str(SAMPLE / "games.jsonl")])
    cards = page.locator(".file")
    cards.nth(1).locator(".shape", has_text="JSON Lines").wait_for()
    first = cards.nth(0)
    assert first.locator(".shape").inner_text() == "object of records"
    headers = first.locator(".preview th").all_inner_texts()
    assert "name\nstring" in headers and "price\nfloat" in headers, headers
    first_key = next(iter(json.loads((SAMPLE / "games-1.json").read_text())))
    first_id = first.locator(".preview tbody tr").first.locator("td").first.inner_text()
    assert first_id == f"{dataset}/games-1.json:{first_key}", "the id the producer will give it"
    page.click("#start-all")
    for index, records in ((0, "50"), (1, "10")):
        card = cards.nth(index)
        wait_settled(page, card)
        assert figure(card, "state") == "done"
        for label in ("records read", "produced", "indexed"):
            assert figure(card, label) == records, (label, card.inner_text())
        assert (figure(card, "rejected"), figure(card, "dead-lettered")) == ("0", "0")
        assert card.locator(".links a", has_text="Search this dataset").count() == 1
    # the same numbers as `spoolbridge status`
    [shown] = bridge.status(dataset)["datasets"]
    rows = {row["source"]: row for row in shown["sources"]}
    for index, name in ((0, "games-1.json"), (1, "games.jsonl")):
        row, card = rows[f"{dataset}/{name}"], cards.nth(index)
        for label, key in (
            ("state", "state"),
            ("records read", "read"),
            ("produced", "produced"),
            ("indexed", "indexed"),
            ("rejected", "rejected"),
            ("dead-lettered", "dead_lettered"),
        ):
            assert figure(card, label) == str(row[key]), (name, label, row)  # fmt: skip
    manifest = page.request.get(bridge.url + f"api/reports/report?source={dataset}/games-1.json")
    assert json.loads(manifest.body())["records"] == 50

    _search_a_game_and_open_it(page, dataset, tmp_path)
    _narrow_by_a_facet_term(page)

    # the same file again: the page says it replaces the version sent before
    page.click("#nav-upload")
    page.set_input_files("#files", str(SAMPLE / "games-1.json"))
    again = page.locator(".file").nth(2)
    # what became of that version, in its card's words: not only how many records it had
    again.locator(".previous", has_text="was sent before (Done: All 50 records are searchable)").wait_for()


def _search_a_game_and_open_it(page: Any, dataset: str, tmp_path: Path) -> None:
    """A game by name: its highlighted match and source file, its JSON on click, a facet."""
    games = json.loads((SAMPLE / "games-1.json").read_text())
    key, game = next(iter(games.items()))
    page.locator(".file").first.locator(".links a", has_text="Search this dataset").click()
    page.locator("#search-dataset").filter(has_text=dataset).wait_for()
    assert page.locator("#search-dataset").input_value() == dataset
    query = f'"{game["name"]}"'
    page.fill("#q", query)
    page.select_option("#facet-field", "genres.keyword")
    page.click("#search-form button")
    # "Search this dataset" shows every document first, and its answer may come after this query's: the
    # page shows only the latest search's answer and says which query it is; its first hit must be the game
    answered = "q => document.querySelector('#results').dataset.query === q"
    page.wait_for_function(answered, arg=query, timeout=90_000)
    hit = page.locator("#results li").first
    assert hit.locator("h3").inner_text() == game["name"], "the title is the name, its matches marked"
    assert " ".join(hit.locator("h3 mark").all_inner_texts()) == game["name"]
    assert f"source: {dataset}/games-1.json" in hit.locator(".meta").inner_text()
    assert f"id {dataset}/games-1.json:{key}" in hit.locator(".meta").inner_text()
    hit.click()
    shown = json.loads(hit.locator("pre.document").inner_text())
    assert shown == {**game, "source": f"{dataset}/games-1.json"}
    assert page.locator("#facet li").count() > 0
    assert screenshot(page, "search-results", tmp_path).stat().st_size > 10_000


def _narrow_by_a_facet_term(page: Any) -> None:
    """Everything, then only one genre: a facet term narrows the hits to the documents that have it."""
    page.fill("#q", "")
    page.click("#search-form button")
    page.locator("#search-summary", has_text="60 hits").wait_for()
    top = page.locator("#facet li").first
    genre = top.locator("button.term").inner_text()
    count = top.locator(".count").inner_text()
    top.locator("button.term").click()
    page.locator("#search-summary", has_text=f"{count} hit").wait_for()
    assert page.locator("#chips .chip").inner_text().startswith(f"genres is {genre}")
    assert "filters=" in page.url, "the chip lives in the URL"
    page.locator("#results li").first.click()
    assert genre in json.loads(page.locator("#results li pre.document").first.inner_text())["genres"]


@pytest.mark.timeout(300)
def test_a_broken_file_shows_the_producers_reason_and_its_rejected_records(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[{"n": 1}, 7, {"n": 3}, {"n": 4')  # a record that is not an object, then cut short
    dataset = short_name(unique_name, "broken")
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(broken))
    card = page.locator(".file").first
    card.locator(".shape", has_text="array of records").wait_for()
    card.locator(".start").click()
    wait_settled(page, card)
    assert figure(card, "state") == "failed"
    report = json.loads(
        page.request.get(bridge.url + f"api/reports/report?source={dataset}/broken.json").body()
    )
    status = card.locator(".status").inner_text()
    assert report["what"] in status, (report, status)
    assert figure(card, "rejected") == "1"
    with page.expect_download() as download:
        card.locator(".links a", has_text="Rejected records").click()
    rejected = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]
    assert len(rejected) == 1
    assert rejected[0]["record"] == 7
    assert "not a JSON object" in rejected[0]["reason"]


@pytest.mark.timeout(300)
def test_a_field_that_conflicts_with_the_existing_mapping_is_warned_before_sending(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str], opensearch_client: Any
) -> None:
    dataset = short_name(unique_name, "prices")
    opensearch_client.indices.create(
        index=dataset,
        body={
            "settings": {"number_of_replicas": 0},
            "mappings": {"properties": {"price": {"type": "float"}}},
        },
    )
    opensearch_client.index(index=dataset, body={"price": 1.5}, refresh=True)
    (bridge.inbox / dataset).mkdir(parents=True)
    file = tmp_path / "prices.json"
    file.write_text('[{"name": "a", "price": "free"}, {"name": "b", "price": 2}]')
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="existing dataset: 1 documents").wait_for()
    page.set_input_files("#files", str(file))
    warning = page.locator(".file .conflicts li")
    warning.wait_for()
    assert warning.inner_text() == (
        "Warning: price is float in the dataset, but the file has text that is not a number there "
        "(e.g. 'free'); those documents would be dead-lettered"
    )
    assert list((bridge.inbox / dataset).iterdir()) == [], "nothing was sent"

    # sent anyway: the record the mapping refuses is dead-lettered, with OpenSearch's reason, downloadable
    card = page.locator(".file").first
    card.locator(".start").click()
    wait_settled(page, card)
    assert (figure(card, "indexed"), figure(card, "dead-lettered")) == ("1", "1")
    with page.expect_download() as download:
        card.locator(".links a", has_text="Dead letters").click()
    [letter] = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]
    assert letter["record"]["price"] == "free"
    assert letter["id"] == f"{dataset}/prices.json:0"
    assert "price" in letter["reason"], letter
    # the result in words, marked, with the cause and the way out (not only in the download)
    assert card.locator(".status").inner_text() == "Partly done: 1 record is searchable; 1 record is not."
    assert card.get_attribute("data-verdict") == "partly"
    cause = card.locator(".causes li").inner_text()
    assert cause.startswith("1 record: their price is not a float value"), cause
    assert "What to do: fix price in the file and drop it again under the same name" in cause


@pytest.mark.timeout(300)
def test_a_dataset_out_of_fields_says_nothing_is_searchable_why_and_what_to_do(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str], opensearch_client: Any
) -> None:
    dataset = short_name(unique_name, "full")
    fields = {f"f{i}": {"type": "keyword"} for i in range(5)}
    opensearch_client.indices.create(
        index=dataset,
        body={
            "settings": {"number_of_replicas": 0, "index.mapping.total_fields.limit": 5},
            "mappings": {"properties": fields},
        },
    )
    (bridge.inbox / dataset).mkdir(parents=True)
    file = tmp_path / "movies.json"
    file.write_text(json.dumps([{"title": f"m{i}", "year": 2000 + i} for i in range(30)]))
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="existing dataset").wait_for()
    page.set_input_files("#files", str(file))
    card = page.locator(".file").first
    card.locator(".start").click()
    wait_settled(page, card)
    assert (figure(card, "indexed"), figure(card, "dead-lettered")) == ("0", "30")
    assert (
        card.locator(".status").inner_text()
        == "Failed: None of the records is searchable: 30 records are not."
    )
    assert card.get_attribute("data-verdict") == "failed"
    cause = card.locator(".causes li").inner_text()
    assert cause.startswith("30 records: the dataset already has the 5 fields its index allows"), cause
    assert "put this file in a dataset of its own" in cause and "dlq replay" in cause

    page.set_input_files("#files", str(file))  # chosen again: none of the version before is searchable
    previous = page.locator(".file").nth(1).locator(".previous")
    previous.wait_for()
    assert "was sent before (Failed: None of the records is searchable: 30 records are not)" in (
        previous.inner_text()
    ), previous.inner_text()

    # a new version of it, dead-lettered too: its letters are counted, not added to the first one's
    page.locator(".file").nth(1).locator(".remove").click()
    file.write_text(json.dumps([{"title": f"v2-{i}", "year": 2100 + i} for i in range(30)]))
    page.set_input_files("#files", str(file))
    second = page.locator(".file").nth(1)
    second.locator(".previous").wait_for()
    second.locator(".start").click()
    wait_settled(page, second)
    assert (figure(second, "indexed"), figure(second, "dead-lettered")) == ("0", "30")
    [shown] = bridge.status(dataset)["datasets"]
    assert [(r["version"], r["dead_lettered"]) for r in shown["sources"]] == [(2, 30)]


def test_the_dataset_name_is_checked_as_you_type(bridge: Bridge, page: Any) -> None:
    page.goto(bridge.url)
    page.fill("#dataset", "Steam Games")
    page.locator("#dataset-check", has_text="dataset names must be lower case").wait_for()
    assert 'try "steam-games"' in page.inner_text("#dataset-check")
    assert page.locator("#start-all").is_disabled()


@pytest.mark.timeout(120)
def test_a_file_too_big_or_of_another_kind_is_refused_with_the_reason(
    endpoints: Endpoints, browser: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    big = tmp_path / "big.json"
    big.write_text("[" + ",".join('{"n": 1}' for _ in range(500)) + "]")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    bridge = start_bridge(
        endpoints, tmp_path, unique_name("t"), unique_name("g"), SPOOLBRIDGE_WEB__MAX_UPLOAD_BYTES="1000"
    )
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(bridge.url)
        page.fill("#dataset", short_name(unique_name, "limits"))
        page.locator("#dataset-check", has_text="new dataset").wait_for()
        page.set_input_files("#files", [str(big), str(notes)])
        page.locator(".file").nth(1).wait_for()
        page.click("#start-all")
        refused = page.locator(".file .status")
        refused.nth(0).filter(has_text="refused").wait_for()
        refused.nth(1).filter(has_text="refused").wait_for()
        size = big.stat().st_size
        assert refused.nth(0).inner_text() == (
            f"refused: 'big.json' is {size} bytes, more than the largest upload this server accepts "
            "(1000 bytes, setting web.max_upload_bytes)"
        )
        assert (
            "'notes.txt' is not a file spoolbridge reads: its name must end in .json"
            in refused.nth(1).inner_text()
        )
    finally:
        context.close()
        stop_bridge(bridge)
    assert [p.name for p in bridge.inbox.rglob("*") if p.is_file() and "big" in p.name] == []


@pytest.mark.timeout(300)
def test_a_new_dataset_takes_its_document_ids_from_the_field_chosen_on_the_page(
    bridge: Bridge, page: Any, endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    dataset = short_name(unique_name, "ids")
    games = [json.loads(line) for line in (SAMPLE / "games.jsonl").read_text().splitlines()]
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(SAMPLE / "games.jsonl"))
    choice = page.locator("#id-field")
    choice.locator("option", has_text="the field app_id").wait_for(state="attached")
    offered = choice.locator("option").all_inner_texts()
    assert "the field required_age" not in offered, f"values that repeat make no id: {offered}"
    assert "the field price" not in offered, f"neither do floats: {offered}"
    choice.select_option("app_id")
    card = page.locator(".file").first
    first_id = card.locator(".preview tbody tr").first.locator("td").first
    assert first_id.inner_text() == games[0]["app_id"], "the preview shows the ids the documents will get"
    card.locator(".start").click()
    wait_settled(page, card)
    assert figure(card, "indexed") == str(len(games))
    # a file dropped in the folder later is read with the same choice
    (bridge.inbox / dataset / "more.jsonl").write_text('{"app_id": "dropped-1", "name": "Late"}\n')
    documents = f"/{dataset}/_doc/"
    deadline = time.monotonic() + 120
    while not _found(endpoints, documents + "dropped-1"):
        assert time.monotonic() < deadline, "the dropped file's document never arrived"
        time.sleep(0.5)
    for game in games:
        assert _found(endpoints, documents + urllib.parse.quote(game["app_id"], safe="")), game["app_id"]
    page.reload()
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="ids from the field app_id").wait_for()
    assert page.locator("#id-field-box").is_hidden(), "an existing dataset's ids cannot change"


@pytest.mark.timeout(300)
def test_an_id_field_whose_values_repeat_after_the_preview_is_refused_before_anything_is_read(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    dataset = short_name(unique_name, "repeats")
    teams = [{"team": f"team-{n}", "notes": "x" * 60} for n in range(2000)]  # well past the 64 KB preview
    teams += [{"team": "team-1"}, {"team": "team-2"}, {"team": "team-1"}]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(team) + "\n" for team in teams))
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", str(results))
    choice = page.locator("#id-field")
    choice.locator("option", has_text="the field team").wait_for(state="attached")
    choice.select_option("team")
    card = page.locator(".file").first
    card.locator(".start").click()
    status = card.locator(".status")
    status.filter(has_text="refused").wait_for()
    assert status.inner_text() == (
        "refused: 5 records share a value of 'team' with another record (first: 'team-1', 'team-2'): it "
        "cannot be the document id; upload again without an id field or choose another"
    )
    assert choice.is_enabled(), "the chooser is offered again"
    assert card.locator(".start").is_enabled()
    assert not (bridge.inbox / ".spoolbridge" / "datasets" / f"{dataset}.json").exists(), "no choice kept"
    folder = bridge.inbox / dataset
    assert not folder.exists() or list(folder.iterdir()) == [], "nothing reached the dataset's folder"


def _found(endpoints: Endpoints, path: str) -> bool:
    status, body = endpoints.opensearch_request("GET", path)
    if status == 404:
        return False
    assert status == 200, (status, body[:300])
    return bool(json.loads(body)["found"])


@pytest.mark.timeout(300)
def test_a_new_version_is_done_only_once_the_index_holds_it(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str], opensearch_client: Any
) -> None:
    """The same ids again with new values: the count balances at once (the old documents), so "done" waits
    for the group to commit past the new version's messages; at that moment the index holds the new values.
    (The race is short on a quiet machine: this checks the end state; tests/unit/web/test_result_words.py
    checks the decision.)"""
    dataset = short_name(unique_name, "versions")
    file = tmp_path / "items.json"
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    for round_, value in enumerate(("old", "new")):
        file.write_text(json.dumps([{"n": i, "value": value} for i in range(500)]))
        page.set_input_files("#files", str(file))
        card = page.locator(".file").nth(round_)
        card.locator(".start").click()
        card.locator(".status", has_text="Done: All 500 records are searchable.").wait_for(timeout=180_000)
        opensearch_client.indices.refresh(index=dataset)
        found = opensearch_client.count(index=dataset, body={"query": {"term": {"value.keyword": value}}})
        assert found["count"] == 500, (value, found)
