"""``POST /api/removals``: the page's "Remove from dataset" writes the producer's removal request, behind
the guard like every state-changing request (spoolbridge/web/removals.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from producer.inbox.removals import RemovalRequests
from producer.inbox.versions import VersionHistory
from spoolbridge.web.progress import FileProgress

pytestmark = pytest.mark.timeout(30)

PAGE = {"X-Spoolbridge-Request": "1"}


def _read_file(inbox: Path, source: str) -> None:
    """The producer read ``source`` once: its ids are listed and it has a history."""
    (inbox / source.partition("/")[0]).mkdir(exist_ok=True)
    ids = VersionHistory(inbox).ids_file(source)
    ids.parent.mkdir(parents=True, exist_ok=True)
    ids.write_text(f"{source}:0\n{source}:1\n")


def test_a_removal_is_a_request_for_the_producer_answered_202(client: TestClient, inbox: Path) -> None:
    _read_file(inbox, "games/a.json")
    response = client.post("/api/removals", json={"source": "games/a.json"}, headers=PAGE)
    assert response.status_code == 202, response.text
    assert response.json() == {"source": "games/a.json", "state": "removing"}
    assert [r.source for r in RemovalRequests(inbox).pending()] == ["games/a.json"]


def test_a_file_already_removed_answers_removed_with_its_count(client: TestClient, inbox: Path) -> None:
    _read_file(inbox, "games/a.json")
    VersionHistory(inbox).record_removal("games/a.json", 2)
    response = client.post("/api/removals", json={"source": "games/a.json"}, headers=PAGE)
    assert (response.status_code, response.json()) == (
        200,
        {"source": "games/a.json", "state": "removed", "removed": 2},
    )
    assert list(RemovalRequests(inbox).pending()) == []


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"source": "games/never.json"}, 404, "unknown file 'games/never.json'"),
        ({"source": "nope/a.json"}, 404, "no dataset 'nope'"),
        ({"source": "games/../a.json"}, 400, "a source is <dataset>/<file name>"),
        ({"file": "games/a.json"}, 400, "expected"),
    ],
)
def test_an_unknown_or_invalid_file_is_refused_in_one_line(
    client: TestClient, inbox: Path, body: dict[str, str], status: int, problem: str
) -> None:
    _read_file(inbox, "games/a.json")
    response = client.post("/api/removals", json=body, headers=PAGE)
    assert response.status_code == status
    assert problem in response.json()["problem"]
    assert list(RemovalRequests(inbox).pending()) == []


def test_a_removal_without_the_pages_header_or_from_another_site_is_refused(
    make_client: Callable[..., TestClient], inbox: Path
) -> None:
    _read_file(inbox, "games/a.json")
    client = make_client()
    assert client.post("/api/removals", json={"source": "games/a.json"}).status_code == 403
    other = {**PAGE, "Origin": "http://evil.example"}
    assert client.post("/api/removals", json={"source": "games/a.json"}, headers=other).status_code == 403
    guarded = make_client(auth_token="s3cret")
    assert guarded.post("/api/removals", json={"source": "games/a.json"}, headers=PAGE).status_code == 401
    assert list(RemovalRequests(inbox).pending()) == []


def test_a_removed_file_settles_once_its_index_holds_none_of_its_documents() -> None:
    removed = FileProgress("games/a.json", state="removed", read=0, produced=0, indexed=2, dead_lettered=0)
    removed.removed = 2
    assert not removed.settled  # the tombstones are on their way
    removed.indexed = 0
    assert removed.settled
    result = removed.result()
    assert result is not None
    assert (result["verdict"], result["label"]) == ("removed", "Removed")
    assert "2 documents deleted" in result["sentence"]
    removing = FileProgress("games/a.json", state="removing", produced=2, indexed=2, dead_lettered=0)
    assert not removing.settled


def test_whether_a_file_was_removed_is_asked_before_it_is_said_to_have_been_sent_before(
    client: TestClient, inbox: Path
) -> None:
    _read_file(inbox, "games/a.json")

    def state() -> Any:
        return client.get("/api/removals", params={"source": "games/a.json"}).json()

    assert state() == {"source": "games/a.json", "state": None}
    assert client.post("/api/removals", json={"source": "games/a.json"}, headers=PAGE).status_code == 202
    assert state() == {"source": "games/a.json", "state": "removing"}
    VersionHistory(inbox).record_removal("games/a.json", 2)
    assert state() == {"source": "games/a.json", "state": "removed", "removed": 2}
    refused = client.get("/api/removals", params={"source": "../a.json"})
    assert refused.status_code == 400
