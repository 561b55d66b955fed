"""Warnings before sending (issue 17, item 2), from the preview, each with its reason and a way out: a file
that is not JSON at all says what it looks like and keeps Upload disabled; too many fields for the index,
records larger than a message may be, and a single object that is one document are warned of."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from .conftest import Bridge, figure, new_context, serve_page, short_name, wait_settled


def _zip(entries: list[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for index, (name, data) in enumerate(entries):
            stored = stored_first and index == 0
            archive.writestr(name, data, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return out.getvalue()


XLSX = _zip([
    ("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="x"><Default Extension="xml"/></Types>'),
    ("_rels/.rels", b'<?xml version="1.0"?><Relationships/>'),
    ("xl/workbook.xml", b'<?xml version="1.0"?><workbook><sheets><sheet name="Sheet1"/></sheets></workbook>'),
    ("xl/worksheets/sheet1.xml", b'<?xml version="1.0"?><worksheet><sheetData/></worksheet>'),
])  # fmt: skip
ODS = _zip(
    [("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", b"<office/>")],
    stored_first=True,
)
RECORDS = b'[{"name": "Ada", "age": 36}, {"name": "Bob", "age": 41}]'

#: (file name, its bytes, what the page must say it looks like)
NOT_JSON: list[tuple[str, bytes, str]] = [
    ("people.json", b"name,age,city\nAda,36,London\nBob,41,Paris\n",
     "a comma-separated table (CSV) with columns name, age, city"),
    ("people.jsonl", b"name\tage\nAda\t36\nBob\t41\n", "a tab-separated table (TSV) with columns name, age"),
    ("book.json", XLSX, "an Excel workbook (.xlsx)"),
    ("book2.json", ODS, "a LibreOffice/OpenDocument spreadsheet (.ods)"),
    ("old.json", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504), "an older Excel workbook (.xls)"),
    ("archive.json", _zip([("data.json", RECORDS)]), "a zip archive"),
    ("packed.json", gzip.compress(RECORDS), "a gzip-compressed file"),
    ("plain.json.gz", RECORDS, "a file that is not compressed, though its name ends in .gz"),
    ("report.json", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "a PDF document"),
    ("photo.json", bytes.fromhex("89504e470d0a1a0a") + bytes(64), "a PNG image"),
    ("wide.json", RECORDS.decode().encode("utf-16"), "text in UTF-16, not UTF-8"),
    ("wide-le.json", RECORDS.decode().encode("utf-16-le"), "text in UTF-16, not UTF-8"),
    ("latin.json", '[{"city": "Montréal"}]'.encode("latin-1"), "text in another encoding than UTF-8"),
]  # fmt: skip


def _payload(name: str, content: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/octet-stream", "buffer": content}


def _choose_dataset(page: Any, name: str, expect: str = "new dataset") -> None:
    page.fill("#dataset", name)
    page.locator("#dataset-check", has_text=expect).wait_for()


def test_a_file_that_is_not_json_says_what_it_looks_like_and_cannot_be_sent(
    browser: Any, page_only: str
) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_only)
        _choose_dataset(page, "people")
        page.set_input_files("#files", [_payload(name, content) for name, content, _ in NOT_JSON])
        cards = page.locator(".file")
        cards.nth(len(NOT_JSON) - 1).locator(".problem").wait_for()
        for index, (name, _, looks) in enumerate(NOT_JSON):
            card = cards.nth(index)
            problem = card.locator(".problem").inner_text()
            assert problem.startswith(f"This looks like {looks}"), (name, problem)
            assert "re-export it as UTF-8" not in problem
            if name.startswith("people."):  # a table under a JSON name: the page reads it as .csv / .tsv
                assert "rename it .csv" in problem or "rename it .tsv" in problem, problem
            assert card.locator(".start").is_disabled(), name
            assert card.locator(".preview-box").is_hidden(), name
        assert page.locator("#start-all").is_disabled(), "nothing here can be sent"
        page.set_input_files("#files", _payload("good.json", RECORDS))
        good = cards.nth(len(NOT_JSON))
        good.locator(".preview table").wait_for()
        assert good.locator(".problem").is_hidden()
        assert good.locator(".start").is_enabled()
        assert page.locator("#start-all").is_enabled()
    finally:
        context.close()


def _wide(prefix: str, fields: int) -> bytes:
    return json.dumps([{f"{prefix}{i}": "text" for i in range(fields)}]).encode()


def test_too_many_fields_too_large_records_and_one_object_are_warned_with_a_way_out(
    browser: Any, tmp_path: Path
) -> None:
    big = json.dumps([{"id": 1, "text": "x" * 20_000}, {"id": 2, "text": "short"}]).encode()
    geo = json.dumps({"type": "FeatureCollection", "features": [{"id": 1}, {"id": 2}]}).encode()
    files = [
        _payload("countries.json", _wide("c", 300)),  # 600 fields: fits the 1,000 alone
        _payload("movies.json", _wide("m", 250)),  # 500 more: with the file above, too many
        _payload("huge.json", _wide("h", 600)),  # 1,200 alone
        _payload("big.json", big),
        _payload("geo.json", geo),
        _payload("blob.json", json.dumps({"data": "y" * 15_000}).encode()),
    ]
    context = new_context(browser)
    try:
        with serve_page(tmp_path, SPOOLBRIDGE_PRODUCER__MAX_MESSAGE_BYTES="12000") as url:
            page = context.new_page()
            page.goto(url)
            _choose_dataset(page, "wide")
            page.set_input_files("#files", files)
            cards = page.locator(".file")
            cards.nth(len(files) - 1).locator(".limits").wait_for()
            limits = [cards.nth(i).locator(".limits") for i in range(len(files))]
            assert limits[0].is_hidden()
            together = limits[1].inner_text()
            assert "Too many fields" in together and "add 500 (with the files above it, 1,100)" in together
            assert "put this file in a dataset of its own" in together
            alone = limits[2].inner_text()
            assert "add 1,200" in alone and "index.mapping.total_fields.limit" in alone
            assert (
                "1 of the first 2 records are larger than the 11.2 KB a record may be"
                in limits[3].inner_text()
            )
            one = limits[4].inner_text()
            assert "this file is a single object, so it becomes one document" in one
            assert 'choose it under "Records under"' in one
            blob = limits[5].inner_text()
            assert "this file is one record of 14.7 KB" in blob and "Its top-level keys (data)" in blob
            assert cards.nth(3).locator(".start").is_enabled(), "a warning, not a refusal"
            cards.nth(4).locator(".path").select_option("features")
            assert cards.nth(4).locator(".preview tbody tr").count() == 2, "the path's records, previewed"
    finally:
        context.close()


def test_an_existing_datasets_own_fields_count_towards_its_limit(
    bridge: Bridge,
    page: Any,
    opensearch_client: OpenSearch,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    dataset = short_name(unique_name, "limited")
    mapped = {f"f{i}": {"type": "keyword"} for i in range(15)}
    opensearch_client.indices.create(
        index=dataset,
        body={"settings": {"index.mapping.total_fields.limit": 20}, "mappings": {"properties": mapped}},
    )
    opensearch_client.index(index=dataset, body={"f0": "a"}, refresh=True)
    (bridge.inbox / dataset).mkdir(parents=True)
    (tmp_path / "more.json").write_bytes(
        json.dumps([{"f0": "b", "new1": "x", "new2": "y", "new3": "z"}]).encode()
    )
    page.goto(bridge.url)
    _choose_dataset(page, dataset, "existing dataset: 1 documents")
    page.set_input_files("#files", str(tmp_path / "more.json"))
    warning = page.locator(".file .limits")
    warning.wait_for()
    assert f"the dataset {dataset} has 15 of the 20 fields its index allows" in warning.inner_text()
    assert "add 6" in warning.inner_text()


def test_a_single_objects_records_under_a_key_are_uploaded_as_records(
    bridge: Bridge,
    page: Any,
    opensearch_client: OpenSearch,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    dataset = short_name(unique_name, "geo")
    features = [{"type": "Feature", "name": f"place {i}"} for i in range(3)]
    (tmp_path / "geo.json").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    page.goto(bridge.url)
    _choose_dataset(page, dataset)
    page.set_input_files("#files", str(tmp_path / "geo.json"))
    card = page.locator(".file").first
    card.locator(".limits", has_text="uploading then reads them so").wait_for()
    card.locator(".path").select_option("features")
    assert card.locator(".preview tbody tr").count() == 3
    card.locator(".start").click()
    wait_settled(page, card)
    assert figure(card, "indexed") == "3", card.inner_text()
    opensearch_client.indices.refresh(index=dataset)
    found = opensearch_client.search(index=dataset, body={"query": {"match_all": {}}, "size": 10})
    assert sorted(hit["_source"]["name"] for hit in found["hits"]["hits"]) == [f"place {i}" for i in range(3)]
    info = page.request.get(bridge.url + f"api/datasets/{dataset}").json()
    assert info["records_path"] == "features", "the dataset keeps the choice for its next files"
