"""Requests that once answered 500 with a traceback (issue 16, item 9), file names a header cannot hold
(item 3): each is a 4xx with a reason now, or works."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from schemas.datasets import Datasets
from schemas.settings import ProducerSettings, Settings
from spoolbridge.web.app import create_app
from spoolbridge.web.uploads import UploadStore

from .conftest import TUS, create, metadata, patch, settings_for

SUPERSCRIPTS = ["²", "¹²", "1²", "³"]  # Latin-1 (as a header arrives): str.isdigit() says yes, int() no


@pytest.mark.parametrize("digits", SUPERSCRIPTS)
def test_a_length_in_other_digits_is_a_400(client: TestClient, digits: str) -> None:
    response = client.post(
        "/api/uploads",
        headers={
            b"Tus-Resumable": b"1.0.0",
            b"Upload-Length": digits.encode("latin-1"),
            b"Upload-Metadata": metadata(filename="a.json", dataset="g").encode(),
        },
    )
    assert response.status_code == 400
    assert "Upload-Length must be a number of bytes" in response.text


@pytest.mark.parametrize("digits", SUPERSCRIPTS)
def test_an_offset_in_other_digits_is_a_400(client: TestClient, digits: str) -> None:
    location = create(client, 3)
    response = client.patch(
        location,
        content=b"[1]",
        headers={
            b"Tus-Resumable": b"1.0.0",
            b"Upload-Offset": digits.encode("latin-1"),
            b"Content-Type": b"application/offset+octet-stream",
        },
    )
    assert response.status_code == 400
    assert "Upload-Offset must be a number of bytes" in response.text


@pytest.mark.parametrize("offset", ["²", "٣", "99999999999999999999999"])
def test_a_search_offset_in_other_digits_starts_at_the_first_hit(
    client: TestClient, inbox: Path, offset: str
) -> None:
    (inbox / "games").mkdir()
    (inbox / "games" / "a.json").write_text("[]")  # a folder with a file: a dataset of the catalog
    response = client.get("/api/search", params={"q": "x", "from": offset})
    assert response.status_code == 200
    assert response.json()["problem"].startswith("setting opensearch.url")


@pytest.mark.parametrize("path", ["/api/progress", "/api/reports/report", "/api/reports/rejected"])
@pytest.mark.parametrize(
    "source", ["games/a\x00.json", "games/a\x85.json", "games/" + "a" * 300 + ".json", "games/" * 300 + "a"]
)
def test_a_source_with_nul_controls_or_overlong_names_is_a_400(
    client: TestClient, inbox: Path, path: str, source: str
) -> None:
    (inbox / "games").mkdir()
    response = client.get(path, params={"source": source})
    assert response.status_code == 400
    assert "a source is <dataset>/<file name>" in response.json()["problem"]


def test_a_source_of_a_dataset_the_page_does_not_know_is_a_404(client: TestClient) -> None:
    response = client.get("/api/progress", params={"source": "secret-stuff/a.json"})
    assert response.status_code == 404
    assert "no dataset 'secret-stuff'" in response.json()["problem"]


def test_a_file_name_outside_latin_1_is_sent_percent_encoded(client: TestClient, inbox: Path) -> None:
    body = b'[{"a": 1}]'
    location = create(client, len(body), "日本語 €.json", "games")
    last = patch(client, location, 0, body)
    assert last.status_code == 204
    header = last.headers["Spoolbridge-Source"]
    assert header.isascii()
    assert unquote(header) == "games/日本語 €.json"
    head = client.head(location, headers=TUS)
    assert head.status_code == 200
    assert unquote(head.headers["Spoolbridge-Source"]) == "games/日本語 €.json"
    assert (inbox / "games" / "日本語 €.json").read_bytes() == body


def test_an_upload_cancelled_under_a_patch_is_a_410(client: TestClient, inbox: Path) -> None:
    location = create(client, 10)
    assert patch(client, location, 0, b"12345").status_code == 204
    for part in (inbox / ".spoolbridge" / "uploads").glob("*.part"):
        part.unlink()  # what a DELETE or the expiry does between the PATCH's checks and its write
    response = patch(client, location, 5, b"67890")
    assert response.status_code == 410


def test_the_expiry_leaves_an_upload_being_written_alone(tmp_path: Path) -> None:
    store = UploadStore(Datasets(Settings(producer=ProducerSettings(inbox=tmp_path))), 100)
    busy = store.create("games", "busy.json", 10)
    idle = store.create("games", "idle.json", 10)
    later = time.time() + 3600
    assert store.expire(60, now=later, busy=lambda: {busy.id}) == 1
    assert store.offset(store.get(busy.id)) == 0
    with pytest.raises(Exception, match="no such upload"):
        store.get(idle.id)


def test_a_delete_while_the_last_patch_finishes_the_upload_waits_for_it(
    inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finishing PATCH links the file into place in a worker thread; a DELETE arriving meanwhile gets
    423 instead of removing the bytes under it (which made the PATCH a 500)."""
    finishing, release = threading.Event(), threading.Event()
    finish = UploadStore.finish

    def slow_finish(store: UploadStore, upload: Any) -> Any:
        finishing.set()
        assert release.wait(30)
        return finish(store, upload)

    monkeypatch.setattr(UploadStore, "finish", slow_finish)
    with TestClient(create_app(settings_for(inbox)), base_url="http://127.0.0.1:8080") as client:
        location = create(client, 3)
        answers: list[Any] = []
        last = threading.Thread(target=lambda: answers.append(patch(client, location, 0, b"[1]")))
        last.start()
        try:
            assert finishing.wait(30)
            deleted = client.delete(location, headers=TUS)
            assert deleted.status_code == 423
        finally:
            release.set()
            last.join(30)
        assert answers[0].status_code == 204
        assert (inbox / "games" / "a.json").read_bytes() == b"[1]"
