"""The page in a real browser: Debian's chromium driven by Playwright, in front of ``spoolbridge run``
(producer, consumer and page) on the test endpoints, with a unique topic, group and inbox per test.

Playwright's own browser download is not used: the browser is ``/usr/bin/chromium`` (``make test``
installs it with the rest of the toolchain).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoints

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "steam-sample"


def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Save the page as ``<name>.png``: in ``$SPOOLBRIDGE_SCREENSHOTS`` when set (the README's images are
    made so: ``make screenshots``), else in the test's temporary folder."""
    folder = Path(os.environ.get("SPOOLBRIDGE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


#: How long a step may wait for the page (Playwright's default is 30 s): the machines these tests run on
#: are small and shared, and a loaded one is slow, not wrong.
STEP_TIMEOUT_MS = 90_000


def new_context(browser: Any, **options: Any) -> Any:
    """A fresh browser context (its own storage) whose steps wait up to :data:`STEP_TIMEOUT_MS`."""
    context = browser.new_context(**options)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Bridge:
    """A running ``spoolbridge run``: its page's address, inbox and log."""

    url: str
    inbox: Path
    topic: str
    group: str
    log: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def status(self, dataset: str) -> dict[str, Any]:
        """``spoolbridge status --json`` of ``dataset``, as an operator would run it."""
        cmd = [sys.executable, "-m", "spoolbridge.cli", "status", "--json", "--dataset", dataset,
               "--inbox", str(self.inbox), "--topic", self.topic, "--group", self.group]  # fmt: skip
        shown = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=120, check=True)
        report: dict[str, Any] = json.loads(shown.stdout)
        return report


def start_bridge(endpoints: Endpoints, tmp_path: Path, topic: str, group: str, **env: str) -> Bridge:
    inbox = tmp_path / "inbox"
    log = tmp_path / "run.log"
    environment = {
        **{k: v for k, v in endpoints.env().items()},
        "SPOOLBRIDGE_WEB__PORT": "0",
        "SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS": "0",
        "SPOOLBRIDGE_PRODUCER__SETTLE_MS": "100",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spoolbridge.cli",
                "run",
                "--inbox",
                str(inbox),
                "--topic",
                topic,
                "--group",
                group,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=tmp_path,
        )
    deadline = time.monotonic() + 120
    while True:  # the page's address, the producer watching and the consumer started: all three are up
        text = log.read_text(errors="replace")
        found = re.search(r"page +(http://127\.0\.0\.1:\d+/)", text)
        if found and "event=watching" in text and "consumer starting" in text:
            return Bridge(found.group(1), inbox, topic, group, log, process, environment)
        assert process.poll() is None, text
        assert time.monotonic() < deadline, f"spoolbridge run did not start:\n{text}"
        time.sleep(0.2)


def stop_bridge(bridge: Bridge) -> int:
    """Stop ``run`` as a service manager would (SIGTERM); returns its exit code."""
    if bridge.process.poll() is None:
        bridge.process.send_signal(signal.SIGTERM)
    try:
        return bridge.process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        bridge.process.kill()
        return bridge.process.wait()


@pytest.fixture
def bridge(endpoints: Endpoints, tmp_path: Path, unique_name: Callable[[str], str]) -> Iterator[Bridge]:
    running = start_bridge(endpoints, tmp_path, unique_name("t"), unique_name("g"))
    yield running
    assert stop_bridge(running) == 0, running.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = new_context(browser, accept_downloads=True, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], f"the page's scripts failed: {errors}"


def short_name(unique_name: Callable[[str], str], prefix: str) -> str:
    """A dataset name unique to the test (it is also the index name)."""
    return unique_name(prefix)[:60].rstrip("-")


def wait_settled(page: Any, card: Any, timeout_ms: int = 180_000) -> None:
    card.locator(".links a").first.wait_for(timeout=timeout_ms)


def figure(card: Any, label: str) -> str:
    return str(card.locator(f'tr[data-figure="{label}"] td').nth(1).inner_text())


@contextlib.contextmanager
def serve_page(tmp_path: Path, **env: str) -> Iterator[str]:
    """``spoolbridge web`` alone with ``env`` added: its address. Kafka and OpenSearch are a port that is
    bound and not listening, so they refuse every connection whatever runs on the default ports."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    nobody = socket.socket()
    nobody.bind(("127.0.0.1", 0))
    port = nobody.getsockname()[1]
    base["SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
    base["SPOOLBRIDGE_OPENSEARCH__URL"] = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "spoolbridge.cli", "web", "--inbox", str(tmp_path / "inbox"), "--port", "0"]
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**base, **env}
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert found, line
        yield found.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=30)
        nobody.close()


@pytest.fixture
def page_only(tmp_path: Path) -> Iterator[str]:
    with serve_page(tmp_path) as url:
        yield url
