"""The page reads only datasets it knows, through their concrete index (issue 16, item 1), on the real
node: an index that no dataset of the inbox names, and an alias named like a dataset that reaches a dotted
index, give the page nothing of theirs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from schemas.settings import Settings
from spoolbridge.web.app import create_app

pytestmark = pytest.mark.integration

SECRET = "the-secret-value"


@pytest.fixture
def indices(opensearch_admin_client: Any) -> Iterator[Callable[..., str]]:
    """``make(name, alias=None)``: an index with one secret document (and an alias to it); removed after.
    Made by the admin: a hidden index is outside the stack's least-privilege user's index patterns, as
    another application's would be (the page itself reads as that user)."""
    opensearch_client = opensearch_admin_client
    made: list[str] = []

    def make(name: str, alias: str | None = None) -> str:
        body: dict[str, Any] = {"settings": {"number_of_replicas": 0}}
        if alias is not None:
            body["aliases"] = {alias: {}}
        opensearch_client.indices.create(index=name, body=body)
        made.append(name)
        opensearch_client.index(
            index=name, id="1", body={"note": SECRET, "email": "a@b.example"}, refresh=True
        )
        return name

    yield make
    for name in made:
        opensearch_client.indices.delete(index=name, ignore_unavailable=True)


@pytest.fixture
def page(settings_factory: Callable[..., Settings]) -> Iterator[tuple[TestClient, Path]]:
    settings = settings_factory()
    inbox = settings.producer.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
        yield client, inbox


def _answers(client: TestClient, dataset: str) -> list[Any]:
    return [
        client.get("/api/search", params={"q": SECRET, "dataset": dataset}),
        client.get(f"/api/datasets/{dataset}"),
        client.get("/api/fields", params={"dataset": dataset}),
        client.get("/api/search", params={"q": SECRET}),  # every dataset of the catalog
    ]


def test_an_index_no_dataset_of_the_inbox_names_is_not_read(
    page: tuple[TestClient, Path], indices: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    client, _ = page
    name = indices(unique_name("secret-stuff")[:60])
    search, dataset, fields, everything = _answers(client, name)
    assert search.status_code == 404
    assert "no dataset" in search.json()["problem"]
    assert fields.status_code == 404
    assert dataset.status_code == 200  # a new dataset's name: its index by the rule, OpenSearch not asked
    assert dataset.json()["exists"] is False
    assert dataset.json()["documents"] is None
    assert dataset.json()["fields"] == {}
    assert everything.status_code == 200
    assert everything.json()["total"] == 0
    for answer in (search, dataset, fields, everything):
        assert SECRET not in answer.text and "a@b.example" not in answer.text and "email" not in answer.text


def test_an_alias_named_like_a_known_dataset_is_not_followed_to_a_dotted_index(
    page: tuple[TestClient, Path], indices: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    client, inbox = page
    alias = unique_name("games")[:60]
    indices(f".hidden-{uuid.uuid4().hex[:8]}", alias=alias)
    (inbox / alias).mkdir()  # the catalog knows the dataset: its folder is in the inbox
    search, dataset, fields, everything = _answers(client, alias)
    assert search.status_code == 200
    assert search.json()["total"] == 0
    assert "alias" in search.json()["problem"]
    assert dataset.status_code == 200
    assert dataset.json()["documents"] is None and dataset.json()["fields"] == {}
    assert "alias" in dataset.json()["problem"]
    assert fields.json() == {"fields": []}
    assert everything.json()["total"] == 0
    for answer in (search, dataset, fields, everything):
        assert SECRET not in answer.text and "a@b.example" not in answer.text


def test_a_known_dataset_with_its_own_index_is_read(
    page: tuple[TestClient, Path], indices: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    client, inbox = page
    name = indices(unique_name("orders")[:60])
    (inbox / name).mkdir()
    (inbox / "done" / name).mkdir(parents=True)  # a dataset whose files were read: listed, so in "all"
    search, dataset, fields, everything = _answers(client, name)
    assert search.json()["total"] == 1
    assert search.json()["hits"][0]["document"]["note"] == SECRET
    assert dataset.json()["exists"] is True and dataset.json()["documents"] == 1
    assert "email" in dataset.json()["fields"]
    assert fields.status_code == 200
    assert everything.json()["total"] == 1
