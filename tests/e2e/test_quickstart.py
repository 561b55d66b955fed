"""The README's quick start, typed as written: ``make run``, drop the sample, search it, see the status.

It runs in a scratch copy of the repository's user-facing files (Makefile, pyproject, scripts, examples)
that shares this checkout's virtualenv, so ``make run`` does its real set-up steps without reinstalling.
The local stack ``make run`` finds is this test session's (``SPOOLBRIDGE_STACK__*`` point at it) — the
same path a user takes when ``spoolbridge stack up`` already ran — or the endpoints the environment names.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoints

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLE_RECORDS = 110  # 50 + 50 + 10 in examples/steam-sample


def quickstart_blocks() -> list[list[str]]:
    """The command lines of each fenced block that follows a ``<!-- quickstart`` marker in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- quickstart[^>]*-->\s*```\n(.*?)```", text, flags=re.DOTALL)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def _scratch_copy(tmp: Path) -> Path:
    import spoolbridge

    # The shared virtualenv must count as set up, or `make run` in the copy would re-point its editable
    # install at the copy. It is: these tests run from it, with the package installed from this checkout.
    assert Path(spoolbridge.__file__).resolve().is_relative_to(REPO)
    stamp = REPO / ".venv" / ".installed"
    sources = [
        REPO / "pyproject.toml",
        REPO / "setup.py",
        *REPO.glob("producer/read/framing/_jsonscan*.[ch]"),
    ]
    newest = max(path.stat().st_mtime for path in sources if path.exists())
    if not stamp.exists() or stamp.stat().st_mtime < newest:
        stamp.touch()
    work = tmp / "spoolbridge"
    # the whole source tree, mtimes kept (copy2), so make sees every prerequisite of the venv as up to date
    skipped = shutil.ignore_patterns(".git", ".venv", ".spoolbridge", "inbox", "data", "*cache*", "*.so")
    shutil.copytree(REPO, work, ignore=skipped, copy_function=shutil.copy2)
    (work / ".venv").symlink_to(REPO / ".venv")
    return work


def _env(endpoints: Endpoints) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    env["SPOOLBRIDGE_WEB__PORT"] = "0"  # the page on any free port: test runs side by side never collide
    if endpoints.stack is None:
        return {**endpoints.env(), "SPOOLBRIDGE_WEB__PORT": "0"}
    stack = endpoints.stack.settings
    env.update(
        SPOOLBRIDGE_STACK__DIR=str(stack.dir),
        SPOOLBRIDGE_STACK__KAFKA_PORT=str(stack.kafka_port),
        SPOOLBRIDGE_STACK__KAFKA_SSL_PORT=str(stack.kafka_ssl_port),
        SPOOLBRIDGE_STACK__KAFKA_SASL_PORT=str(stack.kafka_sasl_port),
        SPOOLBRIDGE_STACK__KAFKA_CONTROLLER_PORT=str(stack.kafka_controller_port),
        SPOOLBRIDGE_STACK__OPENSEARCH_PORT=str(stack.opensearch_port),
        SPOOLBRIDGE_STACK__OPENSEARCH_TRANSPORT_PORT=str(stack.opensearch_transport_port),
    )
    return env


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _wait_until_all_searchable(search: str, work: Path, env: dict[str, str], deadline: float) -> Any:
    """Run the README's search until it finds hits and the index holds every sample record."""
    count_command = search.replace("_search?q=genres:Strategy&size=1&pretty", "_count")
    while time.monotonic() < deadline:
        out = subprocess.run(["bash", "-c", search], cwd=work, env=env, capture_output=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            hits = json.loads(out.stdout).get("hits", {})
            count = subprocess.run(
                ["bash", "-c", count_command], cwd=work, env=env, capture_output=True, check=True
            )
            if hits.get("total", {}).get("value") and json.loads(count.stdout)["count"] == SAMPLE_RECORDS:
                return hits
        time.sleep(0.5)
    return None


def _wait_until_done(done: Path, expected: list[str], deadline: float) -> list[str]:
    names: list[str] = []
    while time.monotonic() < deadline:
        names = sorted(p.name for p in done.glob("*") if not p.name.endswith(".manifest.json"))
        if names == expected:
            break
        time.sleep(0.2)
    return names


def _search_of_this_session(endpoints: Endpoints, stack_folder: str, search: str) -> str:
    """The README's search (the default stack folder and port, HTTPS as the stack's user) against this
    session's node: its stack folder and port, or the plain node or the environment's URL the same way."""
    assert stack_folder == "STACK=~/.local/state/spoolbridge/stack", stack_folder
    url = "https://127.0.0.1:9200"
    assert f"'{url}/spoolbridge/_search?" in search, search
    if endpoints.stack is not None and endpoints.opensearch_secured:
        settings = endpoints.stack.settings
        folder = stack_folder.replace("~/.local/state/spoolbridge/stack", str(settings.dir))
        return f"{folder}; " + search.replace("127.0.0.1:9200", f"127.0.0.1:{settings.opensearch_port}")
    # a plain node (stack.opensearch_security=false) or the environment's: the same search, its URL
    path = search.split(f"'{url}", 1)[1]
    ca = f"--cacert {endpoints.opensearch_ca_file} " if endpoints.opensearch_ca_file else ""
    return f"curl -s {ca}'{endpoints.opensearch_url.rstrip('/')}{path}"


@pytest.mark.timeout(240)
def test_quickstart_as_written_ends_with_the_sample_searchable(endpoints: Endpoints, tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    assert blocks[0] == ["make run"]
    drop, status, stack_folder, search = blocks[1]
    search = _search_of_this_session(endpoints, stack_folder, search)
    work = _scratch_copy(tmp_path)
    env = _env(endpoints)
    log = (tmp_path / "run.log").open("wb")
    bridge = subprocess.Popen(
        ["bash", "-c", blocks[0][0]],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while b"spoolbridge is running" not in (tmp_path / "run.log").read_bytes():
            assert bridge.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, "make run did not start the bridge"
            time.sleep(0.5)
        page = re.search(r"page +(http://127\.0\.0\.1:\d+/)", (tmp_path / "run.log").read_text())
        assert page is not None, (tmp_path / "run.log").read_text()
        with urllib.request.urlopen(page.group(1), timeout=30) as response:  # `make run` serves the page
            assert b"spoolbridge" in response.read()
        assert subprocess.run(["bash", "-c", drop], cwd=work, env=env, check=False).returncode == 0

        # pasted as one block: status --wait returns once everything is searchable, then the search finds it
        shown = subprocess.run(
            ["bash", "-c", status], cwd=work, env=env, capture_output=True, text=True, check=False
        )
        assert shown.returncode == 0, shown.stderr
        assert "still in progress" not in shown.stderr, shown.stdout + shown.stderr
        for name, records in (("games-1.json", 50), ("games-2.json", 50), ("games.jsonl", 10)):
            # read, produced, indexed, rejected, dead-lettered
            row = rf"{re.escape(name)}\W+done\W+{records}\W+{records}\W+{records}\W+0\W+0\W"
            assert re.search(row, shown.stdout), shown.stdout
        hits = _wait_until_all_searchable(search, work, env, time.monotonic() + 3)
        assert hits is not None, (tmp_path / "run.log").read_text()
        assert "Strategy" in hits["hits"][0]["_source"]["genres"]
        assert hits["hits"][0]["_source"]["source"].startswith("games")
        expected = ["games-1.json", "games-2.json", "games.jsonl"]
        assert _wait_until_done(work / "inbox" / "done", expected, deadline) == expected
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bridge.pid, signal.SIGINT)  # Ctrl-C in the first terminal
        code = bridge.wait(timeout=90)
        log.close()
    # bash, like a terminal, dies of the SIGINT itself (-2); spoolbridge finished first and said so
    assert code in (0, 130, -signal.SIGINT), (tmp_path / "run.log").read_text()
    assert b"The local stack keeps running" in (tmp_path / "run.log").read_bytes() or endpoints.stack is None
    assert b"Traceback" not in (tmp_path / "run.log").read_bytes()
    deadline = time.monotonic() + 30
    while _processes_mentioning(str(work)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(str(work)) == [], "producer/consumer outlived Ctrl-C"
