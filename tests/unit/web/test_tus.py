"""tus 1.0.0 over HTTP, in-process: create, resume from HEAD's offset, finish into the dataset's folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from spoolbridge.web.tus import _write_all

from .conftest import TUS, create, metadata, patch


def test_options_tell_version_extensions_and_the_size_limit(make_client: Callable[..., TestClient]) -> None:
    response = make_client(max_upload_bytes=1234).options("/api/uploads", headers=TUS)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,termination"
    assert response.headers["Tus-Max-Size"] == "1234"


def test_upload_in_two_pieces_resumed_from_head(client: TestClient, inbox: Path) -> None:
    body = b'{"730": {"name": "Counter-Strike"}, "570": {"name": "Dota 2"}}'
    location = create(client, len(body), "steam.json", "games")
    assert location.startswith("/api/uploads/")
    first = patch(client, location, 0, body[:20])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "20"
    head = client.head(location, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "20"
    assert head.headers["Upload-Length"] == str(len(body))
    assert head.headers["Cache-Control"] == "no-store"
    assert "Spoolbridge-Source" not in head.headers
    assert not (inbox / "games" / "steam.json").exists()
    last = patch(client, location, 20, body[20:])
    assert last.status_code == 204
    assert last.headers["Spoolbridge-Source"] == "games/steam.json"
    assert (inbox / "games" / "steam.json").read_bytes() == body
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == str(len(body))


def test_a_wrong_offset_is_a_conflict_and_nothing_is_written(client: TestClient, inbox: Path) -> None:
    location = create(client, 10)
    assert patch(client, location, 0, b"12345").status_code == 204
    response = patch(client, location, 0, b"12345")
    assert response.status_code == 409
    assert "server's offset 5" in response.text
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "5"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_longer_than_the_upload_is_refused_whole_and_never_completes_it(
    client: TestClient, inbox: Path, chunked: bool
) -> None:
    location = create(client, 5, "x.json")
    assert patch(client, location, 0, b"[1").status_code == 204
    body = b",2]\n"
    response = patch(client, location, 2, iter([body]) if chunked else body)
    assert response.status_code == 400
    assert "more bytes than Upload-Length 5" in response.text
    assert response.headers["Upload-Offset"] == "2"
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "2"
    assert patch(client, location, 5, b"").status_code == 409  # no truncated file is completed
    assert not (inbox / "games" / "x.json").exists()
    assert patch(client, location, 2, b",2]").status_code == 204
    assert (inbox / "games" / "x.json").read_bytes() == b"[1,2]"


def test_requests_without_the_tus_version_or_content_type_are_refused(client: TestClient) -> None:
    response = client.post("/api/uploads", headers={"Upload-Length": "3", "X-Spoolbridge-Request": "1"})
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    location = create(client, 3)
    wrong_type = client.patch(location, content=b"[1]", headers={**TUS, "Upload-Offset": "0"})
    assert wrong_type.status_code == 415


def test_creation_errors_say_what_is_wrong(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_bytes=100)

    def post(length: str, **meta: str) -> tuple[int, str]:
        headers = {**TUS, "Upload-Length": length, "Upload-Metadata": metadata(**meta)}
        response = client.post("/api/uploads", headers=headers)
        return response.status_code, response.text

    assert post("101", filename="a.json", dataset="games") == (
        413,
        "'a.json' is 101 bytes, more than the largest upload this server accepts (100 bytes, setting "
        "web.max_upload_bytes)\n",
    )
    status, text = post("10", filename="a.json", dataset="Games")
    assert (status, text.startswith("dataset 'Games': dataset names must be lower case")) == (400, True)
    status, text = post("10", filename="notes.txt", dataset="games")
    assert (status, "is not a file spoolbridge reads" in text) == (400, True)
    assert post("10", dataset="games")[0] == 400
    assert post("-1", filename="a.json", dataset="games")[0] == 400
    bad_meta = client.post(
        "/api/uploads", headers={**TUS, "Upload-Length": "1", "Upload-Metadata": "filename !!"}
    )
    assert bad_meta.status_code == 400


def test_delete_cancels_and_unknown_uploads_are_404(client: TestClient, inbox: Path) -> None:
    location = create(client, 10)
    assert patch(client, location, 0, b"12").status_code == 204
    assert client.delete(location, headers=TUS).status_code == 204
    assert client.head(location, headers=TUS).status_code == 404
    assert list((inbox / "games").iterdir()) == []
    assert client.head("/api/uploads/..%2F..%2Fetc", headers=TUS).status_code == 404
    complete = create(client, 2, name="b.json")
    assert patch(client, complete, 0, b"[]").status_code == 204
    late = client.delete(complete, headers=TUS)
    assert (late.status_code, late.text.strip()) == (
        409, "too late to cancel: the upload is complete and games/b.json is in the inbox"
    )  # fmt: skip
    assert (inbox / "games" / "b.json").read_bytes() == b"[]"


def test_dataset_name_check_uses_the_producers_rules(client: TestClient) -> None:
    ok = client.get("/api/dataset-name", params={"name": "steam-games"}).json()
    assert ok == {"name": "steam-games", "problem": None, "suggestion": None}
    bad = client.get("/api/dataset-name", params={"name": "Steam Games"}).json()
    assert bad["problem"].startswith("dataset names must be lower case")
    assert bad["suggestion"] == "steam-games"
    reserved = client.get("/api/dataset-name", params={"name": "done"}).json()
    assert "processed files" in reserved["problem"]


def test_datasets_are_the_inbox_folders_that_can_name_one_and_hold_files(
    client: TestClient, inbox: Path, tmp_path: Path
) -> None:
    for folder in ("games", "orders", "empty", "done/orders", "failed/logs", "Bad Name", ".spoolbridge"):
        (inbox / folder).mkdir(parents=True)
    for waiting in ("games/a.json", "Bad Name/b.json", ".spoolbridge/c.json"):
        (inbox / waiting).write_text("[]")
    (inbox / "empty" / ".a.json.part").write_text("[")  # hidden: still no file of the dataset
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.json").write_text("[]")
    (inbox / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert client.get("/api/datasets").json() == {"datasets": ["games", "logs", "orders"]}


def test_a_dataset_without_opensearch_says_so_and_has_no_conflicts(client: TestClient, inbox: Path) -> None:
    (inbox / "games").mkdir()
    (inbox / "games" / "a.json").write_text("[]")  # a folder with a file: a dataset of the catalog
    info = client.get("/api/datasets/games").json()
    assert info["index"] == "games"
    assert info["problem"].startswith("setting opensearch.url: is not set")
    fields = {"fields": {"price": {"kinds": ["string"], "examples": ["free"]}}}
    answer = client.post("/api/datasets/games/conflicts", json=fields, headers={"X-Spoolbridge-Request": "1"})
    assert answer.status_code == 200
    assert answer.json()["conflicts"] == []
    bad = client.post("/api/datasets/games/conflicts", json={"x": 1}, headers={"X-Spoolbridge-Request": "1"})
    assert bad.status_code == 400
    assert client.get("/api/datasets/Games").status_code == 400


def test_a_write_of_many_chunks_writes_every_byte_in_order(tmp_path: Path) -> None:
    chunks = [bytes([i % 251]) * (i % 7) for i in range(5_000)]  # more buffers than one writev takes
    target = tmp_path / "out"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT)
    try:
        _write_all(fd, chunks)
    finally:
        os.close(fd)
    assert target.read_bytes() == b"".join(chunks)


def test_a_new_datasets_first_upload_chooses_its_id_field(client: TestClient, inbox: Path) -> None:
    def create_with(name: str, id_field: str) -> Any:
        meta = metadata(filename=name, dataset="games", id_field=id_field)
        return client.post("/api/uploads", headers={**TUS, "Upload-Length": "5", "Upload-Metadata": meta})

    assert create_with("a.json", "app_id").status_code == 201
    assert (
        inbox / ".spoolbridge" / "datasets" / "games.json"
    ).read_text().strip() == '{"id_field": "app_id"}'
    assert create_with("b.json", "app_id").status_code == 201, "the same choice for the next file"
    refused = create_with("c.json", "name")
    assert refused.status_code == 409
    assert "takes its document ids from the field 'app_id'" in refused.text
    assert client.get("/api/datasets/games").json()["id_field"] == "app_id"


def test_an_upload_named_like_a_report_is_refused_before_a_byte_is_sent(
    client: TestClient, inbox: Path
) -> None:
    for name in ("x.json.manifest.json", "y.json.error.json", "z.jsonl.rejected.jsonl"):
        response = client.post(
            "/api/uploads",
            headers={
                **TUS,
                "Upload-Length": "2",
                "Upload-Metadata": metadata(filename=name, dataset="games"),
            },
        )
        assert response.status_code == 400, response.text
        assert "could replace another file's report; rename it to" in response.text
    assert sorted(p.name for p in inbox.iterdir()) == []


def test_uploads_that_never_send_data_make_no_dataset(client: TestClient, inbox: Path) -> None:
    locations = [create(client, 10, dataset=f"empty-{n}") for n in range(50)]
    assert client.get("/api/datasets").json() == {"datasets": []}
    assert [p.name for p in inbox.iterdir()] == [".spoolbridge"]
    started = locations[0]
    assert patch(client, started, 0, b"[1,").status_code == 204  # real bytes: the dataset's folder
    assert (inbox / "empty-0").is_dir()
    assert client.delete(started, headers=TUS).status_code == 204
    assert client.get("/api/datasets").json() == {"datasets": []}, "a cancelled upload leaves no dataset"
    finished = create(client, 2, dataset="kept")
    assert patch(client, finished, 0, b"[]").status_code == 204
    assert client.get("/api/datasets").json() == {"datasets": ["kept"]}


def test_the_unfinished_uploads_are_listed_from_the_servers_records_oldest_first(
    client: TestClient, inbox: Path
) -> None:
    first = create(client, 10, name="first.json")
    second = create(client, 4, name="second.json", dataset="other")
    done = create(client, 2, name="done.json")
    assert patch(client, first, 0, b"[{}").status_code == 204
    assert patch(client, done, 0, b"[]").status_code == 204  # complete: in the inbox, not listed
    cancelled = create(client, 3, name="cancelled.json")
    assert client.delete(cancelled, headers=TUS).status_code == 204
    listed = client.get("/api/uploads")
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    assert listed.json() == {
        "uploads": [
            {"location": first, "dataset": "games", "file_name": "first.json", "length": 10, "offset": 3},
            {"location": second, "dataset": "other", "file_name": "second.json", "length": 4, "offset": 0},
        ]
    }
