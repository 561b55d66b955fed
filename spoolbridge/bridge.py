"""``spoolbridge run``: the producer and the consumer as a supervised pair of processes.

With no Kafka/OpenSearch endpoints configured, the local stack is started first (or found running) and
left running afterwards, so the next ``run`` starts in seconds. Each half runs as its own child process
(``spoolbridge produce`` / ``spoolbridge consume``, the same commands an operator runs as two services,
and ``spoolbridge web``, the upload and search page, on a socket this supervisor binds),
in its own session so that a terminal's Ctrl-C reaches only this supervisor, which then sends each child
one SIGTERM: the producer finishes its file, the consumer its batch and commit. If either child exits on
its own, the other is stopped too and the exit code is the failed child's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

from rich.console import Console

from schemas.settings import Settings

from .stack.manager import LocalStack, endpoints_configured
from .web.server import bind, check_bind, page_url

__all__ = ["run_bridge"]

_GRACE_SECS = 60.0


def run_bridge(settings: Settings, passthrough: list[str], *, console: Console | None = None) -> int:
    """Run until SIGINT/SIGTERM or until a child exits; ``passthrough`` are the CLI flags every child gets."""
    console = console or Console(stderr=True)
    check_bind(settings.web)  # before the stack starts: the refusal is the only thing that happens
    env = dict(os.environ)
    where = "configured"
    local = not endpoints_configured(settings)
    if local:
        stack = LocalStack(settings.stack)
        if stack.running():
            where = f"local stack in {settings.stack.dir}"
        else:
            console.print(
                f"No Kafka/OpenSearch endpoints configured: starting the local stack ({settings.stack.dir})"
            )
            stack.up()
            where = f"local stack in {settings.stack.dir}, started now"
        settings = stack.endpoint_settings(settings)
        env["SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS"] = settings.kafka.bootstrap_servers or ""
        if settings.opensearch.url is not None:
            env["SPOOLBRIDGE_OPENSEARCH__URL"] = settings.opensearch.url.get_secret_value()
        env["SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS"] = str(settings.opensearch.number_of_replicas)
    inbox = settings.producer.inbox.absolute()
    inbox.mkdir(parents=True, exist_ok=True)
    page = bind(settings.web)  # here, not in the child: a refused address stops `run` before it starts
    _print_banner(console, settings, where, page_url(settings.web, page.getsockname()[1]))

    base = [sys.executable, "-m", "spoolbridge.cli"]
    with page:
        fd = str(page.fileno())
        children = {
            "producer": _spawn([*base, "produce", "--inbox", str(inbox), *passthrough], env),
            "consumer": _spawn([*base, "consume", *passthrough], env),
            "page": _spawn([*base, "web", "--inbox", str(inbox), "--socket-fd", fd, *passthrough], env, page),
        }
    stop = threading.Event()
    with _signals_set(stop):
        while not stop.is_set() and all(child.poll() is None for child in children.values()):
            stop.wait(0.2)
    codes = _stop_all(children)
    if local:
        console.print("The local stack keeps running; `spoolbridge stack down` stops it.")
    failed = [code for code in codes.values() if code not in (0, None)]
    return failed[0] if failed else 0


def _print_banner(console: Console, settings: Settings, where: str, page: str) -> None:
    url = settings.opensearch.safe_url
    index = settings.index_name
    console.print("[bold]spoolbridge is running[/bold]")
    console.print(
        f"  inbox       {settings.producer.inbox.absolute()}  (.json .jsonl .ndjson, optionally .gz)"
    )
    console.print(
        f"  Kafka       {settings.kafka.bootstrap_servers}  topic {settings.kafka.topic}  ({where})"
    )
    console.print(f"  OpenSearch  {url}  index {index}")
    console.print(f"  search      curl -s '{url}/{index}/_search?q=*&pretty'")
    console.print(f"  page        {page}  (upload files into a dataset, watch them arrive, search them)")
    console.print("Ctrl-C stops the producer and the consumer (each finishes what it started).")


def _spawn(
    cmd: list[str], env: dict[str, str], listening: socket.socket | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in its own session; ``listening`` is a socket it inherits (the page's)."""
    fds = (listening.fileno(),) if listening is not None else ()
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=fds)


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> dict[str, int | None]:
    for child in children.values():
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_SECS
    codes: dict[str, int | None] = {}
    for name, child in children.items():
        try:
            codes[name] = child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            codes[name] = child.wait()
    return codes


@contextlib.contextmanager
def _signals_set(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
