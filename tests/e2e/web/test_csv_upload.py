"""CSV and TSV through the page (issue 20): a table is previewed as the producer will read it (the first
rows as records, each column with its type, the document ids by line), uploaded like any file, and every
row is indexed with its typed values, or rejected with its line; the counts are OpenSearch's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Bridge, figure, short_name, wait_settled

pytestmark = pytest.mark.integration

# a quoted comma, a doubled quote, a line break inside quotes, codes with leading zeros (text), a
# decimal column with an integer in it, booleans in any case, an empty value, and a row too long
PEOPLE = (
    "id,name,score,active,code,joined\n"
    '1,"Lovelace, Ada",9.5,true,007,2024-01-02\n'
    "2,Bob,7,FALSE,012,\n"
    '3,"Say ""hi""",10.25,True,100,2024-03-04\n'
    '4,"two\nlines",1.5,false,5,2024-05-06\n'
    "5,too,many,fields,x,y,z\n"
)
SCORES = "id\tcity\trank\n10\tParis\t1\n11\tLyon\t2\n12\tNice\t3\n"


@pytest.mark.timeout(300)
def test_a_csv_and_a_tsv_are_previewed_typed_uploaded_and_every_row_accounted_for(
    bridge: Bridge, page: Any, tmp_path: Path, unique_name: Callable[[str], str], opensearch_client: Any
) -> None:
    people, scores = tmp_path / "people.csv", tmp_path / "scores.tsv"
    people.write_text(PEOPLE)
    scores.write_text(SCORES)
    dataset = short_name(unique_name, "tables")
    page.goto(bridge.url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="new dataset").wait_for()
    page.set_input_files("#files", [str(people), str(scores)])
    csv_card, tsv_card = page.locator(".file").nth(0), page.locator(".file").nth(1)
    csv_card.locator(".shape", has_text="CSV table (commas)").wait_for()
    tsv_card.locator(".shape", has_text="TSV table").wait_for()

    headers = csv_card.locator(".preview th").all_inner_texts()
    types = {text.split("\n")[0]: text.split("\n")[-1] for text in headers}
    assert types == {
        "document id": "file:position",
        "id": "integer",
        "name": "string",
        "score": "float",
        "active": "boolean",
        "code": "string",
        "joined": "string",
    }, headers
    first_row = csv_card.locator(".preview tbody tr").first.locator("td").all_inner_texts()
    assert first_row == [f"{dataset}/people.csv:2", "1", "Lovelace, Ada", "9.5", "true", "007", "2024-01-02"]
    ids = csv_card.locator(".preview tbody tr td:first-child").all_inner_texts()
    assert ids == [f"{dataset}/people.csv:{line}" for line in (2, 3, 4, 5)], "the line each row starts on"
    warning = csv_card.locator(".warning").inner_text()
    assert "line 7 has 7 fields, the header has 6" in warning, warning
    assert csv_card.locator(".problem").is_hidden() and csv_card.locator(".start").is_enabled()

    page.click("#start-all")
    wait_settled(page, csv_card)
    wait_settled(page, tsv_card)
    assert (figure(csv_card, "indexed"), figure(csv_card, "rejected")) == ("4", "1")
    assert (figure(tsv_card, "indexed"), figure(tsv_card, "rejected")) == ("3", "0")
    assert tsv_card.get_attribute("data-verdict") == "success"
    assert csv_card.get_attribute("data-verdict") == "partly"

    opensearch_client.indices.refresh(index=dataset)
    assert opensearch_client.count(index=dataset)["count"] == 7
    ada = opensearch_client.get(index=dataset, id=f"{dataset}/people.csv:2")["_source"]
    assert {k: ada[k] for k in ("id", "name", "score", "active", "code", "joined")} == {
        "id": 1, "name": "Lovelace, Ada", "score": 9.5, "active": True, "code": "007", "joined": "2024-01-02",
    }  # fmt: skip
    bob = opensearch_client.get(index=dataset, id=f"{dataset}/people.csv:3")["_source"]
    assert bob["score"] == 7.0 and bob["active"] is False and "joined" not in bob
    two = opensearch_client.get(index=dataset, id=f"{dataset}/people.csv:5")["_source"]
    assert two["name"] == "two\nlines"
    nice = opensearch_client.get(index=dataset, id=f"{dataset}/scores.tsv:4")["_source"]
    assert (nice["city"], nice["rank"]) == ("Nice", 3)
