"""``spoolbridge run``: the producer and the consumer as a supervised pair of processes.

With no Kafka/OpenSearch endpoints configured, the local stack is started first (or found running) and
left running afterwards, so the next ``run`` starts in seconds. Each half runs as its own child process
(``spoolbridge produce`` / ``spoolbridge consume``, the same commands an operator runs as two services,
and ``spoolbridge web``, the upload and search page, on a socket this supervisor binds first),
in its own session so that a terminal's Ctrl-C reaches only this supervisor, which then sends each child
one SIGTERM: the producer finishes its file, the consumer its batch and commit. A child that exits on its
own within ``_START_SECS`` of its start (a setting, a held inbox lock: it cannot start) stops them all,
and the exit code is the failed child's. Otherwise the producer or the consumer exiting (or killed by a
signal) never takes the others down: it is started again after a back-off (5 s, doubling, at most a
minute; one line each time), while the page and the other half keep running. The page exiting stops
them all (its socket is bound once, here).

With ``metrics.port`` set, the children serve their endpoints on the next two ports (127.0.0.1 only)
and this supervisor serves one merged ``/metrics``, ``/healthz`` and ``/readyz`` on ``metrics.port``
(:mod:`spoolbridge.bridge_metrics`). On a terminal the supervisor draws the producer's per-file progress
(the producer sends it as events on its stdout) and prints both children's log lines above it.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO

from rich.console import Console

from producer.progress import RichProgress, replay_event
from schemas.errors import ConfigError
from schemas.health import Heartbeat
from schemas.settings import Settings
from schemas.signals import on_stop_signals

from .bridge_metrics import child_check, child_ports, children_registry
from .service_http import serve_endpoints
from .stack.manager import LocalStack, endpoints_configured
from .web.server import bind, check_bind, page_url

__all__ = ["run_bridge"]

_GRACE_SECS = 60.0
#: A child that exits this soon after ``run`` started cannot start at all: ``run`` stops with its code.
_START_SECS = 10.0
#: The children ``run`` starts again when they exit later (the page's socket cannot be bound again).
_RESTARTED = ("producer", "consumer")


def run_bridge(settings: Settings, passthrough: list[str], *, console: Console | None = None) -> int:
    """Run until SIGINT/SIGTERM or until a child exits; ``passthrough`` are the CLI flags every child gets."""
    console = console or Console(stderr=True)
    check_bind(settings.web)  # before the stack starts: the refusal is the only thing that happens
    env = dict(os.environ)
    local = not endpoints_configured(settings)
    settings, where = _local_stack(settings, env, console) if local else (settings, "configured")
    inbox = settings.producer.inbox.absolute()
    inbox.mkdir(parents=True, exist_ok=True)
    ports = _metrics_ports(settings, env)
    page = bind(settings.web)  # here, not in the child: a refused address stops `run` before it starts
    _print_banner(console, settings, where, page_url(settings.web, page.getsockname()[1]))

    base = [sys.executable, "-m", "spoolbridge.cli"]
    commands = {
        "producer": [*base, "produce", "--inbox", str(inbox), *passthrough],
        "consumer": [*base, "consume", *passthrough],
        "page": [*base, "web", "--inbox", str(inbox), "--socket-fd", str(page.fileno()), *passthrough],
    }
    for name, child_port in ports.items():
        commands[name] += ["--metrics-port", str(child_port)]
    codes = _supervise(commands, env, settings, ports, console, page=page)
    if local:
        console.print("The local stack keeps running; `spoolbridge stack down` stops it.")
    failed = {name: code for name, code in codes.items() if code not in (0, None)}
    for name, code in failed.items():
        console.print(f"spoolbridge run: the {name} exited with code {code}")
    return next(iter(failed.values())) if failed else 0


def _local_stack(settings: Settings, env: dict[str, str], console: Console) -> tuple[Settings, str]:
    """Find or start the local stack; point ``env`` (the children's) at it. Returns settings and where."""
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
    if settings.opensearch.ca_file is not None:
        env["SPOOLBRIDGE_OPENSEARCH__CA_FILE"] = str(settings.opensearch.ca_file)
    return settings, where


def _metrics_ports(settings: Settings, env: dict[str, str]) -> dict[str, int]:
    """The children's endpoint ports (none without ``metrics.port``); they listen on 127.0.0.1 only."""
    port = settings.metrics.port
    if port is None:
        return {}
    if port > 65533:
        raise ConfigError("metrics.port", f"{port}: run also uses the next two ports; use at most 65533")
    env["SPOOLBRIDGE_METRICS__HOST"] = "127.0.0.1"  # only the supervisor reads them
    return child_ports(port)


def _supervise(
    commands: dict[str, list[str]],
    env: dict[str, str],
    settings: Settings,
    ports: dict[str, int],
    console: Console,
    *,
    page: socket.socket,
) -> dict[str, int | None]:
    """Start the children (the page inherits ``page``, its listening socket, which is then closed here),
    serve the endpoints, wait for a signal or a child's exit, stop them all."""
    heartbeat = Heartbeat()
    ready = [child_check(name, port, "/readyz") for name, port in ports.items()]
    live = [child_check(name, port, "/healthz") for name, port in ports.items()]
    stop = threading.Event()
    registry = children_registry(ports)
    with (
        serve_endpoints(settings.metrics, "run", heartbeat, ready=ready, live=live, registry=registry),
        _terminal(console) as display,
    ):  # the supervisor's port first: if it is taken, no child was started
        if display is not None:
            commands["producer"] += ["--progress", "events"]
        piped = display is not None
        with page:
            children = {
                name: _spawn(command, env, piped=piped, listening=page if name == "page" else None)
                for name, command in commands.items()
            }
        if display is not None:
            for name, child in children.items():
                _forward(name, child, console, display)
        restarts = _Restarts(time.monotonic())
        with on_stop_signals(lambda sig: stop.set()):
            while not stop.is_set():
                heartbeat.beat()
                exited = [name for name, child in children.items() if child.poll() is not None]
                if not all(restarts.may_restart(name, children[name].returncode) for name in exited):
                    break
                for name in exited:
                    if restarts.due(name, children[name].returncode, console):
                        children[name] = _spawn(commands[name], env, piped=piped)
                        if display is not None:
                            _forward(name, children[name], console, display)
                stop.wait(0.2)
        heartbeat.stop()
        return _stop_all(children)


class _Restarts:
    """When the producer or the consumer that exited is started again (see the module docstring): after
    5 s, doubling while it keeps exiting within a minute of its restart, at most a minute."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.due_at: dict[str, float] = {}  # exited children waiting to be started again
        self.restarted_at: dict[str, float] = {}
        self.delay: dict[str, float] = {}

    def may_restart(self, name: str, code: int | None) -> bool:
        """A producer or consumer killed by a signal, or exiting after it had started: yes."""
        if name not in _RESTARTED:
            return False
        killed = code is not None and code < 0
        return killed or time.monotonic() - self.restarted_at.get(name, self.started) >= _START_SECS

    def due(self, name: str, code: int | None, console: Console) -> bool:
        """True when the exited child ``name`` is to be started now; says once per exit when that is."""
        now = time.monotonic()
        if name not in self.due_at:
            soon = now - self.restarted_at.get(name, -math.inf) < 60.0
            delay = min(60.0, self.delay.get(name, 2.5) * 2) if soon else 5.0
            self.delay[name], self.due_at[name] = delay, now + delay
            console.print(
                f"spoolbridge run: the {name} exited with code {code}; the others keep running, "
                f"starting it again in {delay:.0f} s"
            )
        if now < self.due_at[name]:
            return False
        del self.due_at[name]
        self.restarted_at[name] = now
        return True


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
    cmd: list[str], env: dict[str, str], *, piped: bool, listening: socket.socket | None = None
) -> subprocess.Popen[bytes]:
    """A child in its own session; ``piped``: its stdout and stderr come to the supervisor;
    ``listening``: a socket it inherits (the page's)."""
    pipe = subprocess.PIPE if piped else None
    fds = (listening.fileno(),) if listening is not None else ()
    return subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=pipe, stderr=pipe, start_new_session=True, pass_fds=fds
    )


@contextlib.contextmanager
def _terminal(console: Console) -> Iterator[RichProgress | None]:
    """On a terminal, the progress display (drawn here, for both children); else ``None``."""
    if not console.is_terminal:
        yield None
        return
    display = RichProgress(console=console)
    try:
        yield display
    finally:
        display.close()


def _forward(name: str, child: subprocess.Popen[bytes], console: Console, display: RichProgress) -> None:
    """Threads that print a child's log lines above the display and feed it the producer's events."""

    def lines(stream: IO[bytes] | None, handle: Callable[[str], None]) -> None:
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            handle(raw.decode("utf-8", "replace").rstrip("\n"))

    def show(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    threading.Thread(target=lines, args=(child.stderr, show), daemon=True).start()
    if name == "producer":
        threading.Thread(
            target=lines, args=(child.stdout, lambda line: replay_event(line, display)), daemon=True
        ).start()


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> dict[str, int | None]:
    """SIGTERM to each child still running, then their exit codes. A child that finished its work and then
    died of that SIGTERM (uvicorn re-raises it after its graceful shutdown) stopped as asked: code 0."""
    asked = set()
    for name, child in children.items():
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
                asked.add(name)
    deadline = time.monotonic() + _GRACE_SECS
    codes: dict[str, int | None] = {}
    for name, child in children.items():
        try:
            code: int | None = child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        codes[name] = 0 if name in asked and code == -signal.SIGTERM else code
    return codes
