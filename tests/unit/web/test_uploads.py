"""The uploads on disk: hidden part file while incomplete, offset = its size, linked into place at the end."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from producer.inbox.readiness import is_input_path
from schemas.datasets import Datasets
from schemas.settings import ProducerSettings, Settings
from spoolbridge.web.uploads import UploadError, UploadStore


def _store(inbox: Path, max_bytes: int = 1000) -> UploadStore:
    return UploadStore(Datasets(Settings(producer=ProducerSettings(inbox=inbox))), max_bytes)


def _append(store: UploadStore, upload_id: str, offset: int, data: bytes) -> None:
    fd = store.open_at(store.get(upload_id), offset)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_an_upload_is_invisible_to_the_producer_until_finished(tmp_path: Path) -> None:
    store = _store(tmp_path)
    upload = store.create("games", "steam.json", 10)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files, "the part file and the state exist"
    assert not [p for p in files if is_input_path(p, tmp_path)], "the producer would read an incomplete file"
    _append(store, upload.id, 0, b'{"a": {}}\n')
    assert store.offset(store.get(upload.id)) == 10
    done = store.finish(store.get(upload.id))
    assert done.source == "games/steam.json"
    assert (tmp_path / "games" / "steam.json").read_bytes() == b'{"a": {}}\n'
    inputs = [p for p in tmp_path.rglob("*") if p.is_file() and is_input_path(p, tmp_path)]
    assert inputs == [tmp_path / "games" / "steam.json"]
    assert store.offset(store.get(upload.id)) == 10, "a finished upload reports its whole length"


def test_the_offset_is_what_reached_the_disk_even_for_a_new_store(tmp_path: Path) -> None:
    upload = _store(tmp_path).create("games", "a.json", 6)
    _append(_store(tmp_path), upload.id, 0, b"[1,")
    again = _store(tmp_path)  # a restarted server
    assert again.offset(again.get(upload.id)) == 3
    with pytest.raises(UploadError, match="not the server's offset 3") as caught:
        again.open_at(again.get(upload.id), 0)
    assert caught.value.status == 409


def test_sizes_over_the_limit_are_refused_with_the_setting(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=r"web\.max_upload_bytes") as caught:
        _store(tmp_path, max_bytes=5).create("games", "a.json", 6)
    assert caught.value.status == 413
    assert not (tmp_path / "games").exists()


def test_a_waiting_file_of_the_same_name_is_never_overwritten(tmp_path: Path) -> None:
    store = _store(tmp_path)
    upload = store.create("games", "a.json", 2)
    _append(store, upload.id, 0, b"[]")
    (tmp_path / "games" / "a.json").write_bytes(b"[1]")  # dropped meanwhile
    with pytest.raises(UploadError, match="waiting in dataset 'games'") as caught:
        store.finish(store.get(upload.id))
    assert caught.value.status == 409
    assert (tmp_path / "games" / "a.json").read_bytes() == b"[1]"
    with pytest.raises(UploadError, match="waiting"):
        store.create("games", "a.json", 2)
    (tmp_path / "games" / "a.json").unlink()  # the producer took it
    assert store.finish(store.get(upload.id)).source == "games/a.json"
    assert (tmp_path / "games" / "a.json").read_bytes() == b"[]"


def test_an_empty_file_is_finished_at_once_and_cancel_removes_the_bytes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.create("games", "empty.json", 0).source == "games/empty.json"
    upload = store.create("games", "b.json", 4)
    store.cancel(upload)
    assert sorted(p.name for p in (tmp_path / "games").iterdir()) == ["empty.json"]
    with pytest.raises(UploadError) as caught:
        store.get(upload.id)
    assert caught.value.status == 404


@pytest.mark.parametrize("upload_id", ["../../etc/passwd", "x", "a" * 21 + "/"])
def test_malformed_ids_are_unknown(tmp_path: Path, upload_id: str) -> None:
    with pytest.raises(UploadError) as caught:
        _store(tmp_path).get(upload_id)
    assert caught.value.status == 404


def test_uploads_nobody_writes_to_expire_with_their_bytes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    stale = store.create("games", "old.json", 10)
    _append(store, stale.id, 0, b"[1,")
    fresh = store.create("games", "new.json", 10)
    finished = store.create("games", "done.json", 0)
    now = time.time()
    part = tmp_path / stale.relative_part
    os.utime(part, (now - 7200, now - 7200))
    os.utime(store.state / f"{finished.id}.json", (now - 7200, now - 7200))
    assert store.expire(3600, now) == 2
    assert not part.exists()
    assert (tmp_path / "games" / "done.json").exists(), "a finished upload's file is the inbox's"
    assert store.offset(store.get(fresh.id)) == 0
    for gone in (stale.id, finished.id):
        with pytest.raises(UploadError):
            store.get(gone)


def test_creating_an_upload_makes_no_dataset_folder_its_first_patch_does(tmp_path: Path) -> None:
    store = _store(tmp_path)
    uploads = [store.create(f"d{n}", "a.json", 4) for n in range(20)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".spoolbridge"], "no dataset folder yet"
    fd = store.open_at(uploads[0], 0)  # the upload is real: its dataset's folder (and topics) appear
    os.close(fd)
    assert (tmp_path / "d0").is_dir()
    assert list((tmp_path / "d0").iterdir()) == [], "the bytes stay hidden in the uploads folder"
    for upload in uploads:
        store.cancel(upload)
    assert not list(store.state.iterdir()), "cancelled uploads leave nothing behind"


def test_a_dataset_folder_that_is_a_symbolic_link_is_never_written_through(tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    (inbox / "games").symlink_to(outside, target_is_directory=True)
    store = _store(inbox)
    with pytest.raises(UploadError, match="symbolic link or not a folder") as caught:
        store.create("games", "a.json", 2)
    assert caught.value.status == 409

    upload = store.create("other", "a.json", 2)
    (inbox / "other").symlink_to(outside, target_is_directory=True)  # planted after the creation
    with pytest.raises(UploadError, match="symbolic link") as caught:
        store.open_at(upload, 0)
    assert caught.value.status == 409

    started = store.create("third", "b.json", 2)
    _append(store, started.id, 0, b"[]")
    (inbox / "third").rmdir()
    (inbox / "third").symlink_to(outside, target_is_directory=True)  # planted before the last byte
    with pytest.raises(UploadError, match="symbolic link"):
        store.finish(store.get(started.id))
    assert list(outside.iterdir()) == [], "nothing was written outside the inbox"
    assert store.offset(store.get(started.id)) == 2, "the bytes are kept"


def test_an_upload_begun_by_an_earlier_version_loses_its_old_part_when_it_expires(tmp_path: Path) -> None:
    store = _store(tmp_path)
    upload = store.create("games", "old.json", 10)
    (tmp_path / "games").mkdir()
    legacy = tmp_path / "games" / f".old.json.{upload.id}.part"  # the earlier layout
    legacy.write_bytes(b"[1,")
    assert store.offset(upload) == 0, "it starts again"
    store.cancel(upload)
    assert not legacy.exists()
