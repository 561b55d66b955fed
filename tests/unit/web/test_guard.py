"""Who may call the page: loopback host names only, the token when set, no cross-site state changes."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from .conftest import TUS, metadata

_CREATE = {**TUS, "Upload-Length": "2", "Upload-Metadata": metadata(filename="a.json", dataset="games")}


def test_a_loopback_page_answers_only_to_loopback_host_names(make_client: Callable[..., TestClient]) -> None:
    for base in ("http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2"):
        assert make_client(base_url=base).get("/").status_code == 200, base
    rebound = make_client(base_url="http://attacker.example:8080").get("/")
    assert rebound.status_code == 421
    assert "answers only at localhost" in rebound.text


def test_every_response_keeps_the_page_out_of_frames(client: TestClient) -> None:
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, "from another site"),
        ({"Origin": "http://evil.example"}, "from another origin"),
        ({"Origin": "http://127.0.0.1:9999"}, "from another origin"),
    ],
)
def test_cross_site_state_changes_are_refused(client: TestClient, headers: dict[str, str], says: str) -> None:
    response = client.post("/api/uploads", headers={**_CREATE, **headers})
    assert response.status_code == 403
    assert says in response.text


def test_a_state_change_needs_a_header_no_form_can_send(client: TestClient) -> None:
    response = client.post("/api/uploads", headers={"Upload-Length": "2"})
    assert response.status_code == 403
    assert "X-Spoolbridge-Request" in response.text
    same_origin = {**_CREATE, "Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/uploads", headers=same_origin).status_code == 201


def test_the_token_is_required_as_bearer_or_basic_password(make_client: Callable[..., TestClient]) -> None:
    client = make_client(base_url="http://10.1.2.3:8080", host="0.0.0.0", auth_token="s3cret-token")
    refused = client.get("/")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert "s3cret-token" not in refused.text
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    basic = base64.b64encode(b"anyone:s3cret-token").decode()
    assert client.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    wrong_basic = base64.b64encode(b"s3cret-token:").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong_basic}"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic %%%"}).status_code == 401


def test_a_host_that_only_starts_like_a_loopback_address_is_not_one(
    make_client: Callable[..., TestClient],
) -> None:
    for base in ("http://127.evil.example:8080", "http://127.0.0.1.nip.io", "http://localhost.evil.example"):
        assert make_client(base_url=base).get("/").status_code == 421, base


@pytest.mark.parametrize(
    "path",
    [
        "/api/progress?source=games/a.json",
        "/api/search?q=x",
        "/api/datasets",
        "/api/datasets/games",
        "/api/fields",
        "/api/dataset-name?name=games",
        "/api/reports/dead-letters?source=games/a.json",
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
    ],
)
def test_api_reads_from_another_site_are_refused(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 403, response.text
    assert "from another" in response.text


def test_the_page_itself_may_be_linked_to_from_another_site_and_its_own_reads_pass(
    client: TestClient,
) -> None:
    assert client.get("/", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
    own = {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080"}
    assert client.get("/api/datasets", headers=own).status_code == 200
    assert client.get("/api/datasets", headers={"Sec-Fetch-Site": "none"}).status_code == 200
