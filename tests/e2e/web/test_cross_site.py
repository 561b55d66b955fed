"""Another web site open in the same browser cannot make the page spend anything (issue 16, item 2): in
Chromium, a page on another origin fires ``fetch(…, {mode: "no-cors"})`` at the page's progress, search
and look-up endpoints; every one is refused, and the page's threads and descriptors stay as they were."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import new_context

REQUESTS = 60


def _counts(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


@contextlib.contextmanager
def _page(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """``spoolbridge web`` with a known dataset ``games``; Kafka and OpenSearch are a bound port that
    refuses connections. Yields its port, pid and log."""
    (tmp_path / "inbox" / "games").mkdir(parents=True)
    nobody = socket.socket()
    nobody.bind(("127.0.0.1", 0))
    refused = f"127.0.0.1:{nobody.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    env |= {
        "SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS": refused,
        "SPOOLBRIDGE_OPENSEARCH__URL": f"http://{refused}",
    }
    log = tmp_path / "web.log"
    cmd = [sys.executable, "-m", "spoolbridge.cli", "web", "--inbox", str(tmp_path / "inbox"), "--port", "0"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"serving http://127\.0\.0\.1:(\d+)/", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield int(found.group(1)), process.pid, log
    finally:
        process.terminate()
        process.wait(timeout=30)
        nobody.close()


@contextlib.contextmanager
def _other_site(page_port: int) -> Iterator[int]:
    """A site of its own (any host, another port) whose page fires the requests: its port."""
    targets = [f"/api/progress?source=games/f{n}.json" for n in range(REQUESTS // 2)]
    targets += [f"/api/search?q=x{n}" for n in range(REQUESTS // 4)]
    targets += [f"/api/fields?dataset=games&n={n}" for n in range(REQUESTS - len(targets))]
    script = (
        "const base = new URLSearchParams(location.search).get('target');"
        f"const paths = {targets!r};"
        "Promise.allSettled(paths.map((p) => fetch(base + p, {mode: 'no-cors'})))"
        ".then(() => { document.title = 'fired'; });"
    )
    html = f"<!doctype html><title>other site</title><script>{script}</script>".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("other_host", ["localhost", "127.0.0.1"], ids=["cross-site", "same-site-other-port"])
def test_no_cors_requests_from_another_site_are_refused_and_cost_nothing(
    browser: Any, tmp_path: Path, other_host: str
) -> None:
    with _page(tmp_path) as (port, pid, log), _other_site(port) as other_port:
        time.sleep(1.0)  # the page's start-up threads are up
        threads, descriptors = _counts(pid)
        context = new_context(browser)
        try:
            visitor = context.new_page()
            visitor.goto(f"http://{other_host}:{other_port}/?target=http://127.0.0.1:{port}")
            visitor.wait_for_function("document.title === 'fired'")
        finally:
            context.close()
        time.sleep(1.0)
        after_threads, after_descriptors = _counts(pid)
        assert after_threads <= threads + 1, (threads, after_threads)
        assert after_descriptors <= descriptors + 2, (descriptors, after_descriptors)
        refused = re.findall(
            r"status=403 event=refused reason='refused a GET request from another site", log.read_text()
        )
        assert len(refused) == REQUESTS, log.read_text()[-2000:]
