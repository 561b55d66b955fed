"""The page's unit tests: the app in-process (Starlette's TestClient), an inbox in a temporary folder."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from schemas.settings import ProducerSettings, Settings, WebSettings
from spoolbridge.web.app import create_app

TUS = {"Tus-Resumable": "1.0.0"}


def settings_for(inbox: Path, **web: Any) -> Settings:
    return Settings(producer=ProducerSettings(inbox=inbox), web=WebSettings(**web))


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests see the defaults, never the endpoints a developer's shell exports."""
    import os

    for name in [n for n in os.environ if n.startswith("SPOOLBRIDGE_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def make_client(inbox: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(base_url: str = "http://127.0.0.1:8080", **web: Any) -> TestClient:
        client = TestClient(create_app(settings_for(inbox, **web)), base_url=base_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def create(client: TestClient, length: int, name: str = "a.json", dataset: str = "games") -> str:
    """POST an upload; returns its location (asserts 201)."""
    response = client.post(
        "/api/uploads",
        headers={
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(filename=name, dataset=dataset),
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def patch(client: TestClient, location: str, offset: int, body: bytes | Iterator[bytes]) -> Any:
    return client.patch(
        location,
        content=body,
        headers={**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
    )
