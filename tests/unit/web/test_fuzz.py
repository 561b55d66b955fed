"""Random requests to the tus endpoint and the look-ups (hypothesis): random headers, metadata, offsets,
lengths, bodies and query strings. Whatever arrives, the page answers below 500 and writes no file
outside the dataset folders (and its own ``.spoolbridge/`` state). The example counts are fixed, so a CI
run costs the same every time (a few seconds)."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from schemas.names import dataset_name_problem
from spoolbridge.web.app import create_app

from .conftest import metadata, settings_for

EXAMPLES = 150
_FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# header values as they reach the server: Latin-1 bytes, no line breaks or NUL
_header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=40
)
_number_like = st.one_of(
    st.integers(min_value=-5, max_value=10**22).map(str),
    st.sampled_from(["²", "¹²", "1²", "٣", "0x10", " 5", "5 ", "+5", "-0", "", "1e3", "9" * 40]),
    _header_text,
)
_names = st.one_of(
    st.sampled_from(
        [
            "a.json",
            "../x.json",
            "..",
            "/etc/passwd.json",
            "a/../../b.json",
            "C:\\x.json",
            ".hidden.json",
            "x.json.manifest.json",
            "日本語.json",
            "a\u202egpj.json",
            "a\x00.json",
            "a" * 300 + ".json",
            "x.txt",
        ]
    ),
    st.text(max_size=30),
)
_datasets = st.one_of(
    st.sampled_from(["games", "done", "failed", ".spoolbridge", "..", "../x", "Games", "a/b", "dlq", ""]),
    st.text(max_size=20),
)


@st.composite
def _upload_metadata(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        values = {"filename": draw(_names), "dataset": draw(_datasets)}
        if draw(st.booleans()):
            values["id_field"] = draw(st.text(max_size=10))
        return metadata(**values)
    pairs = draw(st.lists(st.tuples(_header_text, st.binary(max_size=20)), max_size=4))
    spelled = [f"{key} {base64.b64encode(value).decode()}" for key, value in pairs]
    return ",".join(spelled) + draw(st.sampled_from(["", ",", " garbage!", ",x"]))


@st.composite
def _tus_request(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["POST", "HEAD", "PATCH", "DELETE", "OPTIONS"]))
    target = draw(st.sampled_from(["known", "collection", "random"]))
    headers: dict[str, str] = {}
    if draw(st.integers(0, 9)) > 0:
        headers["Tus-Resumable"] = draw(st.sampled_from(["1.0.0", "0.2.2", ""]))
    if draw(st.booleans()):
        headers["Upload-Length"] = draw(_number_like)
    if draw(st.booleans()):
        headers["Upload-Offset"] = draw(_number_like)
    if draw(st.booleans()):
        headers["Upload-Metadata"] = draw(_upload_metadata())
    if draw(st.integers(0, 3)) > 0:
        headers["Content-Type"] = draw(st.sampled_from(["application/offset+octet-stream", "text/plain"]))
    body = draw(st.binary(max_size=64))
    return method, target, headers, body


def _outside_dataset_folders(inbox: Path) -> list[str]:
    """Files under ``inbox`` that are neither in a dataset's folder nor in the page's own state."""
    stray = []
    for path in inbox.rglob("*"):
        if path.is_dir():
            continue
        parts = path.relative_to(inbox).parts
        if parts[0] == ".spoolbridge":
            continue
        if len(parts) != 2 or dataset_name_problem(parts[0]) is not None or parts[0] in ("done", "failed"):
            stray.append("/".join(parts))
    return stray


def _raw(value: str) -> bytes:
    """A header value's bytes: Latin-1 where it can be, else the UTF-8 a client may send anyway."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _send(client: TestClient, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
    encoded = {name.encode(): _raw(value) for name, value in headers.items()}
    return client.request(method, path, headers=encoded, content=body if method == "PATCH" else None)


@_FUZZ
@given(requests=st.lists(_tus_request(), min_size=1, max_size=5), random_id=st.text(max_size=30))
def test_random_tus_requests_never_fail_the_server_nor_write_outside_the_dataset_folders(
    requests: list[tuple[str, str, dict[str, str], bytes]], random_id: str
) -> None:
    with tempfile.TemporaryDirectory() as root:
        inbox = Path(root) / "inbox"
        inbox.mkdir()
        with TestClient(create_app(settings_for(inbox)), base_url="http://127.0.0.1:8080") as client:
            created = _send(
                client,
                "POST",
                "/api/uploads",
                {
                    "Tus-Resumable": "1.0.0",
                    "Upload-Length": "16",
                    "Upload-Metadata": metadata(filename="a.json", dataset="games"),
                },
                b"",
            )
            assert created.status_code == 201
            paths = {
                "known": created.headers["Location"],
                "collection": "/api/uploads",
                "random": "/api/uploads/" + quote(random_id, safe=""),
            }
            for method, target, headers, body in requests:
                response = _send(client, method, paths[target], headers, body)
                assert response.status_code < 500, (method, target, headers, response.text)
        assert _outside_dataset_folders(inbox) == []
        assert sorted(p.name for p in Path(root).iterdir()) == ["inbox"]


_query_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
_LOOKUPS = ["/api/search", "/api/fields", "/api/dataset-name", "/api/reports/report", "/api/reports/rejected"]


@_FUZZ
@given(
    path=st.sampled_from([*_LOOKUPS, "/api/datasets/{name}", "/api/datasets"]),
    name=_datasets,
    query=st.dictionaries(
        st.sampled_from(["q", "dataset", "facet", "from", "only_field", "only_term", "name", "source"]),
        st.one_of(_query_text, _number_like, st.sampled_from(["games/a.json", "games/../x", "\x00"])),
        max_size=6,
    ),
)
def test_random_look_ups_never_fail_the_server(path: str, name: str, query: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as root:
        inbox = Path(root) / "inbox"
        (inbox / "games").mkdir(parents=True)
        with TestClient(create_app(settings_for(inbox)), base_url="http://127.0.0.1:8080") as client:
            response = client.get(path.format(name=quote(name, safe="") or "x"), params=query)
            assert response.status_code < 500, (path, name, query, response.text)
        assert _outside_dataset_folders(inbox) == []
