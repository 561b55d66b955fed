"""``spoolbridge web`` as a person runs it: the binding rule, its address, and an upload over a real socket
that is cut midway and resumed from the server's offset."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_TUS = {"Tus-Resumable": "1.0.0"}


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    return {**base, **extra}


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=60,
        check=False,
    )


class Page:
    """A running ``spoolbridge web --port 0``: its process and its port."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(method, path, body=body, headers={**_TUS, **(headers or {})})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response


@contextlib.contextmanager
def _serve(tmp_path: Path, *args: str, **env: str) -> Iterator[Page]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spoolbridge.cli",
            "web",
            "--inbox",
            str(tmp_path / "inbox"),
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(**env),
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        assert line.startswith("spoolbridge web: serving http://127.0.0.1:"), line + process.stderr.read()
        port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        yield Page(process, port)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
        page_output.append(out + err)


#: What the last server printed (stdout + stderr), once it has stopped.
page_output: list[str] = []


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with _serve(tmp_path) as served:
        yield served


def test_binding_to_every_address_without_a_token_is_refused_in_one_line(tmp_path: Path) -> None:
    result = _cli("web", "--inbox", str(tmp_path), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert result.stderr == (
        "spoolbridge: error: setting web.auth_token: web.host 0.0.0.0 lets other machines reach the upload "
        "page, so it needs a token: set web.auth_token (e.g. SPOOLBRIDGE_WEB__AUTH_TOKEN), or bind to "
        "127.0.0.1\n"
    )


def test_a_port_in_use_names_web_port(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _cli("web", "--inbox", str(tmp_path), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"spoolbridge: error: setting web.port: cannot listen on 127.0.0.1:{port} ("
    )
    assert result.stderr.count("\n") == 1


def test_the_token_is_never_printed(tmp_path: Path) -> None:
    secret = "tok-8d1f0c-never-shown"
    with _serve(tmp_path, "--debug", SPOOLBRIDGE_WEB__AUTH_TOKEN=secret) as page:
        assert page.request("GET", "/").status == 401
        assert page.request("GET", "/", headers={"Authorization": "Bearer wrong"}).status == 401
        assert page.request("GET", "/", headers={"Authorization": f"Bearer {secret}"}).status == 200
    output = page_output[-1]
    assert "GET / HTTP/1.1" in output, "the access log (--debug) was written"
    assert secret not in output


def test_an_upload_cut_midway_resumes_from_the_servers_offset(page: Page, tmp_path: Path) -> None:
    body = b"[" + b",".join(b'{"n": %d, "pad": "%s"}' % (i, b"x" * 100) for i in range(40_000)) + b"]"
    meta = f"filename {base64.b64encode(b'big.json').decode()},dataset {base64.b64encode(b'games').decode()}"
    created = page.request(
        "POST", "/api/uploads", headers={"Upload-Length": str(len(body)), "Upload-Metadata": meta}
    )
    assert created.status == 201
    location = created.headers["Location"]

    half = len(body) // 2
    with socket.create_connection(("127.0.0.1", page.port), timeout=30) as cut:  # the connection drops
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        cut.sendall(head.encode() + body[:half])
    offset = -1
    for _ in range(100):  # the server notices the drop, then reports what reached its disk
        response = page.request("HEAD", location)
        if response.status == 200 and int(response.headers["Upload-Offset"]) == offset:
            break
        offset = int(response.headers["Upload-Offset"])
        time.sleep(0.1)
    assert 0 < offset <= half
    final = tmp_path / "inbox" / "games" / "big.json"
    assert not final.exists()

    rest = page.request(
        "PATCH",
        location,
        body=body[offset:],
        headers={"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
    )
    assert rest.status == 204
    assert rest.headers["Spoolbridge-Source"] == "games/big.json"
    assert final.read_bytes() == body
    assert sorted(p.name for p in final.parent.iterdir()) == ["big.json"]


def test_run_refuses_a_public_page_without_a_token_before_starting_anything(tmp_path: Path) -> None:
    result = _cli("run", "--inbox", str(tmp_path / "inbox"), SPOOLBRIDGE_WEB__HOST="0.0.0.0")
    assert result.returncode == 2
    assert result.stderr.startswith("spoolbridge: error: setting web.auth_token: web.host 0.0.0.0 lets other")
    assert "stack" not in result.stdout + result.stderr, "nothing was started"
    assert not (tmp_path / "inbox").exists()


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.timeout(300)
def test_the_server_never_holds_an_upload_in_memory(page: Page, tmp_path: Path) -> None:
    chunk = b"x" * (16 << 20)
    chunks = 16  # 256 MB, sent as the page sends it: one PATCH whose body streams from the client
    meta = f"filename {base64.b64encode(b'big.jsonl').decode()},dataset {base64.b64encode(b'games').decode()}"
    length = len(chunk) * chunks
    created = page.request(
        "POST", "/api/uploads", headers={"Upload-Length": str(length), "Upload-Metadata": meta}
    )
    location = created.headers["Location"]
    before = _rss_mb(page.process.pid, "VmRSS")
    connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=60)
    headers = {
        **_TUS,
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(length),
    }
    connection.request("PATCH", location, body=(chunk for _ in range(chunks)), headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 204
    connection.close()
    peak = _rss_mb(page.process.pid, "VmHWM")
    assert (tmp_path / "inbox" / "games" / "big.jsonl").stat().st_size == length
    assert peak - before < 40, f"RSS grew from {before:.0f} MB to a peak of {peak:.0f} MB for a 256 MB upload"


def test_a_stop_asked_by_a_signal_exits_0(tmp_path: Path) -> None:
    with _serve(tmp_path) as served:
        assert served.request("GET", "/").status == 200
        process = served.process
    assert process.returncode == 0, page_output[-1]
