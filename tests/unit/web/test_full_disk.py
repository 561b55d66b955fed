"""The page on a full disk (a small tmpfs inbox, :mod:`tests.tmpfs`): 507 with a sentence, the bytes that
fit are kept and the upload resumes once space is freed; what a full disk or a crash leaves is expired."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from schemas.datasets import Datasets
from schemas.settings import ProducerSettings, Settings
from spoolbridge.web.uploads import UploadStore
from tests.tmpfs import fill, mounted_tmpfs
from tests.unit.web.conftest import TUS, create, metadata, patch

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def full_inbox(inbox: Path) -> Iterator[Path]:
    """The page's inbox on a 2 MB tmpfs."""
    with mounted_tmpfs(inbox, 2 << 20):
        yield inbox


def test_a_patch_that_does_not_fit_is_507_with_a_sentence_and_resumes_once_space_is_freed(
    full_inbox: Path, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(max_upload_bytes=8 << 20)
    body = b"[" + b",".join(b'{"n": %d}' % i for i in range(100_000)) + b"]"  # 1.3 MB
    location = create(client, len(body))
    filler = fill(full_inbox, 256 << 10)

    refused = patch(client, location, 0, body)

    assert refused.status_code == 507, refused.text
    assert "disk is full" in refused.text and "resume" in refused.text
    kept = int(refused.headers["Upload-Offset"])
    assert 0 < kept < len(body)
    filler.unlink()
    head = client.head(location, headers=TUS)
    assert int(head.headers["Upload-Offset"]) == kept
    finished = patch(client, location, kept, body[kept:])
    assert finished.status_code == 204, finished.text
    assert (full_inbox / "games" / "a.json").read_bytes() == body


def test_an_upload_that_cannot_start_is_507_and_leaves_nothing(
    full_inbox: Path, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    (full_inbox / "games").mkdir()
    fill(full_inbox, 0)
    response = client.post(
        "/api/uploads",
        headers={
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(filename="a.json", dataset="games"),
        },
    )
    assert response.status_code == 507, response.text
    assert "disk is full" in response.text
    assert [p.name for p in (full_inbox / "games").iterdir()] == []
    assert list((full_inbox / ".spoolbridge" / "uploads").glob("*.part")) == [], "no part file left"


def test_orphaned_part_and_state_files_expire(tmp_path: Path) -> None:
    store = UploadStore(Datasets(Settings(producer=ProducerSettings(inbox=tmp_path))), 1000)
    kept = store.create("games", "kept.json", 10)
    (store.state / f"{kept.id}.json").unlink()  # the description never made it to the disk
    orphan = tmp_path / kept.relative_part
    half_written = store.state / f"{'x' * 22}.tmp"
    half_written.write_text("{")
    young = store.state / f"{'y' * 22}.part"
    young.touch()
    now = time.time()
    for old in (orphan, half_written):
        os.utime(old, (now - 7200, now - 7200))

    assert store.expire(3600, now) == 2

    assert not orphan.exists() and not half_written.exists()
    assert young.exists(), "an orphan younger than the expiry may be an upload being created"
