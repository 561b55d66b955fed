"""The analyst's first questions answered through the page's routes on the real node (issue 18): fields
with counts, values with shares, other and missing, distinct counts, ``field:value``, the table paged to its
last hit, an export, and documents per source file, every number against a dataset of known counts."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from schemas.datasets import Datasets
from schemas.settings import Settings
from spoolbridge.web.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

COUNTRIES = {"CA": 300, "US": 250, "GB": 150, "FR": 100, **{f"Z{i:02d}": 10 for i in range(20)}}
FILES = {"a.json": 500, "b.json": 300, "c.json": 200}
TOTAL = 1000
WITHOUT_GENRE = 75


def _documents() -> list[dict[str, Any]]:
    countries = [c for c, n in COUNTRIES.items() for _ in range(n)]
    files = [f for f, n in FILES.items() for _ in range(n)]
    documents = []
    for i in range(TOTAL):
        document: dict[str, Any] = {
            "name": f"Casa {i}" if i % 7 == 0 else f"Town {i}",  # "ca" in text that is not the country
            "country": countries[i],
            "population": (i * 7919) % 100_000,
            "founded": f"{1800 + i % 200}-01-01",
            "source": files[(i * 3) % TOTAL],
        }
        if i >= WITHOUT_GENRE:
            document["genre"] = ["coast", "hill", "plain"][i % 3]
        documents.append(document)
    return documents


@pytest.fixture
def dataset(
    settings_factory: Callable[..., Settings], opensearch_client: Any, unique_name: Callable[[str], str]
) -> Iterator[tuple[TestClient, str, list[dict[str, Any]]]]:
    from opensearchpy import helpers

    settings = settings_factory()
    name = unique_name("cities")[:50]
    index = Datasets(settings).get(name).index
    folder = settings.producer.inbox / name
    folder.mkdir(parents=True)
    (folder / "cities.json").write_text("[]")  # a dataset of the catalog: a folder with a file
    documents = _documents()
    opensearch_client.indices.create(index=index, body={"settings": {"number_of_replicas": 0}})
    try:
        helpers.bulk(
            opensearch_client,
            ({"_index": index, "_id": str(i), "_source": d} for i, d in enumerate(documents)),
            refresh=True,
        )
        with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
            yield client, name, documents
    finally:
        opensearch_client.indices.delete(index=index, ignore_unavailable=True)


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    assert found["problem"] is None
    return found


def test_fields_values_shares_other_missing_and_distinct(
    dataset: tuple[TestClient, str, list[dict[str, Any]]],
) -> None:
    client, name, _ = dataset
    listed = {f["field"]: f for f in _get(client, "/api/field-list", dataset=name)["fields"]}
    assert listed["country"]["documents"] == TOTAL and listed["country"]["type"] == "text"
    assert listed["genre"]["documents"] == TOTAL - WITHOUT_GENRE
    assert listed["population"]["kind"] == "number"

    top = _get(client, "/api/values", dataset=name, field="country", size=3)
    assert [(v["value"], v["count"]) for v in top["values"]] == [("CA", 300), ("US", 250), ("GB", 150)]
    assert top["values"][0]["share"] == pytest.approx(0.3)
    assert (top["total"], top["other"], top["missing"]) == (TOTAL, 300, 0)
    assert (top["distinct"], top["distinct_exact"]) == (len(COUNTRIES), True)
    assert top["more"] is True
    page = _get(client, "/api/values", dataset=name, field="country", size=2, **{"from": 3})
    assert [(v["value"], v["count"]) for v in page["values"]] == [("FR", 100), ("Z00", 10)]
    within = _get(client, "/api/values", dataset=name, field="country", within="g")
    assert [v["value"] for v in within["values"]] == ["GB"]

    genre = _get(client, "/api/values", dataset=name, field="genre")
    assert genre["missing"] == WITHOUT_GENRE
    assert genre["missing_share"] == pytest.approx(WITHOUT_GENRE / TOTAL)
    assert sum(v["count"] for v in genre["values"]) + genre["missing"] + genre["other"] == TOTAL

    population = _get(client, "/api/values", dataset=name, field="population", size=1)
    values = [d["population"] for d in _documents()]
    assert (population["range"]["min"], population["range"]["max"]) == (min(values), max(values))
    assert 1 < len(population["histogram"]) <= 21
    assert sum(bar["count"] for bar in population["histogram"]) == TOTAL


def test_field_value_queries_count_exactly_and_a_wrong_field_says_so(
    dataset: tuple[TestClient, str, list[dict[str, Any]]],
) -> None:
    client, name, _ = dataset
    assert _get(client, "/api/search", dataset=name, q="country:CA")["total"] == 300
    assert _get(client, "/api/search", dataset=name, q="country:ca -genre:*")["total"] == WITHOUT_GENRE
    assert _get(client, "/api/search", dataset=name, q="population:<1000")["total"] == sum(
        1 for d in _documents() if d["population"] < 1000
    )
    within_canada = _get(client, "/api/values", dataset=name, field="genre", q="country:CA")
    assert within_canada["total"] == 300 and within_canada["missing"] == WITHOUT_GENRE
    wrong = client.get("/api/search", params={"dataset": name, "q": "contry:CA"}).json()
    assert wrong["total"] == 0 and 'no field "contry"' in wrong["problem"] and "country" in wrong["problem"]
    typed = client.get("/api/values", params={"dataset": name, "field": "genre", "q": "population:lots"})
    assert typed.status_code == 400 and "holds numbers" in typed.json()["problem"]


def test_the_table_pages_to_the_last_hit_in_order(
    dataset: tuple[TestClient, str, list[dict[str, Any]]],
) -> None:
    client, name, documents = dataset
    first = _get(
        client, "/api/hits", dataset=name, sort="population:desc", column=["name", "country"], size=300
    )
    assert first["total"] == TOTAL and first["title_field"] == "name"
    rows, page = list(first["rows"]), first
    while page["next"]:
        page = _get(client, "/api/hits", next=page["next"])
        rows += page["rows"]
    assert len(rows) == TOTAL and len({r["id"] for r in rows}) == TOTAL
    populations = [r["document"]["population"] for r in rows]
    assert populations == sorted((d["population"] for d in documents), reverse=True)
    assert rows[0]["cells"]["country"] == documents[int(rows[0]["id"])]["country"]
    gone = client.get("/api/hits", params={"next": "not-a-token"})
    assert gone.status_code == 400 and "expired" in gone.json()["problem"]
    unsortable = client.get("/api/hits", params={"dataset": name, "sort": "nope:asc"})
    assert unsortable.status_code == 400


def test_an_export_holds_exactly_the_hits(dataset: tuple[TestClient, str, list[dict[str, Any]]]) -> None:
    client, name, documents = dataset
    filters = orjson.dumps([{"op": "is", "field": "country", "value": "CA"}]).decode()
    response = client.get(
        "/api/export", params={"dataset": name, "filters": filters, "column": ["name", "population"]}
    )
    assert response.status_code == 200 and response.headers["x-total-hits"] == "300"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["_id", "name", "population"] and len(rows) == 301
    expected = {str(i): d for i, d in enumerate(documents) if d["country"] == "CA"}
    assert {r[0] for r in rows[1:]} == set(expected)
    assert all(int(r[2]) == expected[r[0]]["population"] for r in rows[1:])

    every = client.get("/api/export", params={"dataset": name})  # no columns: every field, source first
    table = list(csv.reader(io.StringIO(every.text)))
    assert table[0] == ["_id", "source", "country", "founded", "genre", "name", "population"]
    assert len(table) == TOTAL + 1
    cells = {row[0]: row[1:] for row in table[1:]}
    assert cells == {
        str(i): [d["source"], d["country"], d["founded"], d.get("genre", ""), d["name"], str(d["population"])]
        for i, d in enumerate(documents)
    }

    whole = client.get("/api/export", params={"dataset": name, "format": "ndjson"})
    lines = [orjson.loads(line) for line in whole.text.splitlines()]
    assert len(lines) == TOTAL
    assert Counter(line["country"] for line in lines) == Counter(COUNTRIES)


def test_documents_per_source_file_with_shares(dataset: tuple[TestClient, str, list[dict[str, Any]]]) -> None:
    client, name, _ = dataset
    shares = _get(client, f"/api/datasets/{name}/sources")
    assert shares["total"] == TOTAL
    assert {(v["value"], v["count"], round(v["share"], 3)) for v in shares["values"]} == {
        ("a.json", 500, 0.5),
        ("b.json", 300, 0.3),
        ("c.json", 200, 0.2),
    }
