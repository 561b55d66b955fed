"""``spoolbridge run`` on a full disk (a tmpfs inbox, :mod:`tests.tmpfs`): the producer pauses, the consumer
and the page keep running (the page answers 507), and the producer resumes by itself; a producer that dies
later is started again while the others stay up."""

from __future__ import annotations

import base64
import os
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.e2e.test_run_metrics import free_port_run
from tests.integration.consumer.conftest import doc_count, wait_for
from tests.integration.endpoint_helpers import env_of, free_port, get, start_cli, stop
from tests.tmpfs import fill, mounted_tmpfs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def tmpfs_inbox(settings_factory: Callable[..., Settings]) -> Iterator[tuple[Settings, Path]]:
    settings = settings_factory()
    inbox = settings.producer.inbox
    inbox.mkdir(parents=True)
    with mounted_tmpfs(inbox, 8 << 20):
        yield settings, inbox


def _staged(path: Path, lines: list[bytes]) -> Path:
    temp = path.with_name(f".{path.name}.staged")  # hidden: the producer skips it; a rename drops it
    temp.write_bytes(b"\n".join(lines) + b"\n")
    return temp


def _tus(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, Any, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body or None, method=method,
        headers={"Tus-Resumable": "1.0.0", **headers},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def _child_pid(parent: int, command_word: bytes) -> int:
    """The pid of ``parent``'s child whose command line has ``command_word`` (``produce``)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in map(int, children):
        if command_word in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
            return pid
    raise AssertionError(f"no child running {command_word!r}")


def test_run_keeps_the_consumer_and_the_page_up_while_the_disk_is_full(
    endpoints: Endpoints,
    tmpfs_inbox: tuple[Settings, Path],
    opensearch_client: Any,
    tmp_path: Path,
) -> None:
    settings, inbox = tmpfs_inbox
    port, web_port = free_port_run(), free_port()
    env = env_of(endpoints, settings) | {"SPOOLBRIDGE_WEB__PORT": str(web_port)}
    log_path = tmp_path / "run.log"
    bridge = start_cli(["run", "--inbox", str(inbox), "--metrics-port", str(port)], env, log_path)
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 200, 90, "run's /readyz 200")
        bad = [b'{"n": %d}' % i for i in range(100)]
        bad += [b"not json, and long enough to make its rejected report big: " + b"x" * 120] * 3000
        big = _staged(inbox / "big-report.jsonl", bad)
        small = _staged(inbox / "small.jsonl", [b'{"n": %d}' % i for i in range(100, 150)])
        filler = fill(inbox, 96 << 10)

        big.rename(inbox / "big-report.jsonl")
        wait_for(lambda: "outcome=no_space" in log_path.read_text(), 60, "the producer to pause")
        small.rename(inbox / "small.jsonl")
        wait_for((inbox / "done" / "small.jsonl").exists, 60, "the small file to be done")
        # the small file is indexed while the big one waits (the big one's records may wait with it: its
        # ids are written ahead of each chunk it sends, and the disk is full)
        small_indexed = lambda: doc_count(opensearch_client, settings.index_name) >= 50  # noqa: E731
        wait_for(small_indexed, 60, "the small file indexed")

        body = b"[" + b",".join(b'{"n": %d}' % i for i in range(100_000)) + b"]"
        meta = f"filename {base64.b64encode(b'up.json').decode()},dataset {base64.b64encode(b'up').decode()}"
        created = {"Upload-Length": str(len(body)), "Upload-Metadata": meta}
        status, headers, text = _tus(web_port, "POST", "/api/uploads", created)
        assert status == 201, text
        status, headers, text = _tus(
            web_port, "PATCH", headers["Location"],
            {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, body,
        )  # fmt: skip
        assert status == 507, text
        assert "disk is full" in text
        assert get(port, "/healthz")[0] == 200, log_path.read_text()
        assert bridge.poll() is None, log_path.read_text()

        filler.unlink()  # space returns: the producer resumes by itself
        failed = inbox / "failed"
        wait_for((failed / "big-report.jsonl.error.json").is_file, 90, "the big file to settle")
        assert len((failed / "big-report.jsonl.rejected.jsonl").read_bytes().splitlines()) == 3000
        wait_for(lambda: doc_count(opensearch_client, settings.index_name) == 150, 60, "150 documents")
        time.sleep(1)  # and no more than that
        assert doc_count(opensearch_client, settings.index_name) == 150

        os.kill(_child_pid(bridge.pid, b"produce"), signal.SIGKILL)  # a producer dying later
        wait_for(lambda: "starting it again" in log_path.read_text(), 30, "run to restart the producer")
        time.sleep(1)
        assert bridge.poll() is None, log_path.read_text()
        assert get(web_port, "/")[0] == 200
        (inbox / "after.jsonl").write_bytes(b'{"n": 1000}\n')
        wait_for(
            lambda: doc_count(opensearch_client, settings.index_name) == 151, 90, "the restarted producer"
        )
    finally:
        assert stop(bridge) == 0, log_path.read_text()
