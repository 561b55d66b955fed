"""``spoolbridge web`` under half-open connections (issue 16, item 4): with the usual default open-file
limit (1,024), 1,100 connections that send part of their headers and stop do not keep an authorised
request from being answered within a second, and a connection that never finishes its headers is closed
after ``web.header_timeout_secs``."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TOKEN = "token-of-the-limits-test"
DEFAULT_OPEN_FILES = 1024  # the soft RLIMIT_NOFILE most systems give a service
HALF_OPEN = 1100


#: sets the default soft limit, then becomes ``spoolbridge`` (no preexec_fn: this process has threads)
_WITH_DEFAULT_OPEN_FILES = (
    "import os, resource, sys; "
    "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), hard)); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


@contextlib.contextmanager
def _page(tmp_path: Path, **env: str) -> Iterator[int]:
    """``spoolbridge web`` with the token and the default open-file limit: its port."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    log = tmp_path / "web.log"
    cmd = [sys.executable, "-c", _WITH_DEFAULT_OPEN_FILES, str(DEFAULT_OPEN_FILES),
           "-m", "spoolbridge.cli", "web", "--inbox", str(tmp_path / "inbox"), "--port", "0"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**base, "SPOOLBRIDGE_WEB__AUTH_TOKEN": TOKEN, **env},
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"serving http://127\.0\.0\.1:(\d+)/", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield int(found.group(1))
        assert process.poll() is None, log.read_text()
        assert "Too many open files" not in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)


def _raise_own_open_files(needed: int) -> None:
    """This test holds ``needed`` sockets itself: raise its soft limit that far, and no further."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _authorised_get(port: int) -> tuple[int, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        basic = base64.b64encode(f"me:{TOKEN}".encode()).decode()
        connection.request("GET", "/api/datasets", headers={"Authorization": f"Basic {basic}"})
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


@pytest.mark.timeout(180)
def test_an_authorised_request_is_answered_within_a_second_while_1100_half_open_connections_are_held(
    tmp_path: Path,
) -> None:
    _raise_own_open_files(HALF_OPEN + 256)
    with _page(tmp_path) as port:
        held: list[socket.socket] = []
        try:
            for _ in range(HALF_OPEN):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
                held.append(sock)
            time.sleep(1.0)  # the page has accepted them (or pushed the oldest out)
            answers = [_authorised_get(port) for _ in range(5)]
            assert [status for status, _ in answers] == [200] * 5
            assert max(elapsed for _, elapsed in answers) < 1.0, answers
        finally:
            for sock in held:
                sock.close()


@pytest.mark.timeout(120)
def test_a_connection_that_never_finishes_its_headers_is_closed_after_the_header_timeout(
    tmp_path: Path,
) -> None:
    with (
        _page(tmp_path, SPOOLBRIDGE_WEB__HEADER_TIMEOUT_SECS="1") as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as sock,
    ):
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert sock.recv(1024) == b""  # closed by the page, no answer
        assert 1.0 <= time.monotonic() - started < 5.0
