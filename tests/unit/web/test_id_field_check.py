"""A new dataset's id field chosen on the page is checked when the upload that chose it completes: values
that repeat are refused before the file reaches the dataset's folder, and the dataset keeps no choice."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from schemas.settings import DatasetSettings, ProducerSettings, Settings
from spoolbridge.web.app import create_app

from .conftest import TUS, metadata, patch

CHOICE = Path(".spoolbridge") / "datasets" / "games.json"


def _upload(client: TestClient, body: bytes, name: str, id_field: str | None = "app_id") -> tuple[int, str]:
    """Create and send a whole upload; returns the status and text of the request that completed it."""
    meta = {"filename": name, "dataset": "games"} | ({"id_field": id_field} if id_field else {})
    created = client.post(
        "/api/uploads", headers={**TUS, "Upload-Length": str(len(body)), "Upload-Metadata": metadata(**meta)}
    )
    assert created.status_code == 201, created.text
    sent = patch(client, created.headers["Location"], 0, body)
    return sent.status_code, sent.text


# 1 and "1" are one document id, as for the producer (schemas.ids.field_id)
def _records(*ids: object) -> list[dict[str, object]]:
    return [{"app_id": value, "name": f"game {n}"} for n, value in enumerate(ids)]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("steam.json", json.dumps(_records(1, 2, "1", 3, 2, 1, "x", "x")).encode()),
        (
            "steam.jsonl",
            b"".join(json.dumps(r).encode() + b"\n" for r in _records(1, 2, "1", 3, 2, 1, "x", "x")),
        ),
        ("steam.json.gz", gzip.compress(json.dumps(_records(1, 2, "1", 3, 2, 1, "x", "x")).encode())),
        # read as a table, as the producer reads a .csv / .tsv: each row a record, the header its fields
        ("steam.csv", b"app_id,name\n1,a\n2,b\n1,c\n3,d\n2,e\n1,f\nx,g\nx,h\n"),
        ("steam.tsv", b"app_id\tname\n1\ta\n2\tb\n1\tc\n3\td\n2\te\n1\tf\nx\tg\nx\th\n"),
    ],
    ids=["array", "json-lines", "gzip", "csv", "tsv"],
)
def test_repeated_values_are_refused_with_the_count_and_the_first_values(
    client: TestClient, inbox: Path, name: str, body: bytes
) -> None:
    status, text = _upload(client, body, name)
    assert status == 409
    assert text.strip() == (
        "7 records share a value of 'app_id' with another record (first: '1', '2', 'x'): it cannot be the "
        "document id; upload again without an id field or choose another"
    )
    assert not (inbox / CHOICE).exists(), "the dataset keeps no choice"
    assert client.get("/api/datasets/games").json()["id_field"] is None
    assert [p.name for p in (inbox / "games").iterdir()] == [], "nothing reaches the dataset's folder"
    assert list((inbox / ".spoolbridge" / "uploads").iterdir()) == [], "the upload and its bytes are gone"


def test_after_a_refusal_the_file_can_be_uploaded_with_another_choice(
    client: TestClient, inbox: Path
) -> None:
    body = json.dumps([{"app_id": 1, "slug": "a"}, {"app_id": 1, "slug": "b"}]).encode()
    assert _upload(client, body, "steam.json")[0] == 409
    assert _upload(client, body, "steam.json", id_field="slug")[0] == 204
    assert json.loads((inbox / CHOICE).read_text()) == {"id_field": "slug"}
    assert (inbox / "games" / "steam.json").read_bytes() == body


def test_unique_values_are_accepted_and_the_file_is_handed_over(client: TestClient, inbox: Path) -> None:
    # records the producer would reject (no id field, not an object) are not counted as repeats
    body = json.dumps([*_records(1, 2, "01", 3), {"name": "no id"}, {"name": "no id"}, 7]).encode()
    status, text = _upload(client, body, "steam.json")
    assert status == 204, text
    assert (inbox / "games" / "steam.json").read_bytes() == body
    assert json.loads((inbox / CHOICE).read_text()) == {"id_field": "app_id"}
    assert list((inbox / ".spoolbridge" / "uploads").glob("*.scan.*")) == [], "the scan's link is removed"


def _configured(inbox: Path, **games: Any) -> TestClient:
    settings = Settings(producer=ProducerSettings(inbox=inbox), datasets={"games": DatasetSettings(**games)})
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8080")


def test_records_path_is_followed_as_the_producer_reads_it(inbox: Path) -> None:
    body = json.dumps({"data": {"items": _records(5, 5)}, "app_id": 1}).encode()
    with _configured(inbox, records_path="data.items") as client:
        status, text = _upload(client, body, "steam.json")
    assert status == 409
    assert text.startswith("2 records share a value of 'app_id' with another record (first: '5'):")


def test_a_dataset_whose_choice_an_earlier_upload_made_is_not_checked(
    client: TestClient, inbox: Path
) -> None:
    assert _upload(client, json.dumps(_records(1, 2)).encode(), "first.json")[0] == 204
    repeated = json.dumps(_records(3, 3)).encode()
    status, text = _upload(client, repeated, "second.json")
    assert status == 204, "the producer counts this file's repeats and says so in its status"
    assert (inbox / "games" / "second.json").read_bytes() == repeated
    assert json.loads((inbox / CHOICE).read_text()) == {"id_field": "app_id"}
    status, text = _upload(client, repeated, "third.json", id_field=None)
    assert status == 204, text
    assert (inbox / "games" / "third.json").exists()


def test_a_dataset_whose_id_field_the_configuration_sets_is_not_checked(inbox: Path) -> None:
    repeated = json.dumps(_records(3, 3)).encode()
    with _configured(inbox, id_field="app_id") as client:
        status, text = _upload(client, repeated, "steam.json")
    assert status == 204, text
    assert (inbox / "games" / "steam.json").read_bytes() == repeated
    assert not (inbox / CHOICE).exists()
