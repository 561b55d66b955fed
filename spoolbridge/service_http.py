"""A running service's endpoints: ``/metrics`` (Prometheus), ``/healthz`` (alive), ``/readyz`` (ready).

Started by the CLI for ``produce``, ``consume`` and ``run`` when ``metrics.port`` is set
(:func:`serve_endpoints`); a small threaded HTTP server on ``metrics.host:metrics.port``, in daemon
threads, so it never holds the process up. A web application serves ``/metrics`` on its own routes with
:func:`metrics_response`.

- ``/metrics``: prometheus-client's exposition of the registry (OpenMetrics when the scraper asks for it).
- ``/healthz``: 200 while the service loop beats (:class:`~schemas.health.Heartbeat`) — also before its
  first beat (it is starting) — and the ``live`` checks pass; 503 with a JSON reason when the loop has not
  beaten for ``stall_secs`` (it is stuck: restarting it helps), or once it is stopping.
- ``/readyz``: 200 when the loop runs and every ``ready`` check passes (Kafka and OpenSearch for the
  consumer, Kafka and the inbox for the producer: :mod:`spoolbridge.probes`), else 503 with
  ``{"status": "not ready", "reason": ..., "checks": {...}}``. Answers are kept for ``READY_CACHE_SECS``,
  so frequent probes do not turn into a stream of requests to Kafka and OpenSearch.

Bodies are JSON and never hold a secret (the checks name endpoints by their redacted URL).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics
from prometheus_client.exposition import choose_encoder

from schemas.errors import ConfigError
from schemas.health import Heartbeat
from schemas.settings import MetricsSettings

__all__ = [
    "READY_CACHE_SECS",
    "Check",
    "ServiceEndpoints",
    "metrics_response",
    "serve_endpoints",
]

log = logging.getLogger(__name__)

#: A readiness answer is reused this long.
READY_CACHE_SECS = 1.0
#: The loop is stuck when it has not beaten this long (longer than any wait it beats around).
DEFAULT_STALL_SECS = 120.0

#: A named check: ``None`` when fine, else the reason (one line, no secret).
Check = tuple[str, Callable[[], str | None]]

# ``*_created`` series double the output and say nothing an operator needs here.
disable_created_metrics()  # type: ignore[no-untyped-call]


def metrics_response(registry: CollectorRegistry = REGISTRY, accept: str | None = None) -> tuple[bytes, str]:
    """The body and content type of ``/metrics`` — for a web application serving it on its own routes."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


@dataclass
class ServiceEndpoints:
    """The three endpoints of one service (see the module docstring); :meth:`start`, then :meth:`stop`."""

    host: str
    port: int
    service: str  # producer, consumer, run: named in the answers
    heartbeat: Heartbeat
    ready: Sequence[Check] = ()
    live: Sequence[Check] = ()
    registry: CollectorRegistry = REGISTRY
    stall_secs: float = DEFAULT_STALL_SECS
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _ready_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _ready_cache: tuple[float, int, dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        """Listen; raises :class:`ConfigError` naming ``metrics.port`` when the address cannot be used."""
        try:
            server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        except OSError as exc:
            raise ConfigError(
                "metrics.port",
                f"cannot listen on {self.host}:{self.port} for /metrics ({exc.strerror or exc}); choose "
                "a free port, or leave metrics.port unset",
            ) from None
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, name=f"{self.service}-http", daemon=True).start()
        log.info("event=endpoints_listening service=%s address=%s:%d", self.service, self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the answers ----------------------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        """``/healthz``: (status, body)."""
        loop = self._loop_problem()
        if loop is not None:
            return 503, {"status": "unhealthy", "service": self.service, "reason": loop}
        failed = _first_failure(_run_checks(self.live))
        if failed is not None:
            return 503, {"status": "unhealthy", "service": self.service, "reason": failed}
        age = self.heartbeat.age_secs()
        return 200, {
            "status": "ok" if age is not None else "starting",
            "service": self.service,
            "last_beat_secs": None if age is None else round(age, 3),
        }

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """``/readyz``: (status, body); the checks' answers are reused for ``READY_CACHE_SECS``."""
        with self._ready_lock:  # one probe at a time, whatever the number of callers
            now = time.monotonic()
            cached = self._ready_cache
            if cached is not None and now - cached[0] < READY_CACHE_SECS:
                return cached[1], cached[2]
            answer = self._readiness()
            self._ready_cache = (time.monotonic(), *answer)
            return answer

    def _readiness(self) -> tuple[int, dict[str, Any]]:
        starting = self.heartbeat.age_secs() is None and not self.heartbeat.stopped
        loop = None if starting else self._loop_problem()  # stopping, or stuck
        if loop is not None:
            return 503, {"status": "not ready", "service": self.service, "reason": loop, "checks": {}}
        results = _run_checks(self.ready)
        checks = {name: reason or "ok" for name, reason in results}
        # a service that is starting usually waits for what a failing check names: that is the reason
        failed = _first_failure(results) or (f"the {self.service} is starting" if starting else None)
        if failed is not None:
            return 503, {"status": "not ready", "service": self.service, "reason": failed, "checks": checks}
        return 200, {"status": "ready", "service": self.service, "checks": checks}

    def _loop_problem(self) -> str | None:
        """Why the loop is not alive: stopping, or stuck (``None`` before its first beat: starting)."""
        if self.heartbeat.stopped:
            return f"the {self.service} is stopping"
        age = self.heartbeat.age_secs()
        if age is not None and age > self.stall_secs:
            return f"the {self.service} loop has not run for {age:.0f} s (limit {self.stall_secs:.0f} s)"
        return None


def _run_checks(checks: Sequence[Check]) -> list[tuple[str, str | None]]:
    results: list[tuple[str, str | None]] = []
    for name, check in checks:
        try:
            results.append((name, check()))
        except Exception as exc:  # a check that breaks is a failed check, never a 500
            results.append((name, f"the {name} check failed: {type(exc).__name__}: {exc}"))
    return results


def _first_failure(results: Sequence[tuple[str, str | None]]) -> str | None:
    return next((reason for _, reason in results if reason is not None), None)


def _handler(endpoints: ServiceEndpoints) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "spoolbridge"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, content_type = metrics_response(endpoints.registry, self.headers.get("Accept"))
                self._send(200, body, content_type)
            elif path == "/healthz":
                self._send_json(*endpoints.health())
            elif path == "/readyz":
                self._send_json(*endpoints.readiness())
            else:
                self._send_json(404, {"status": "not found", "paths": ["/metrics", "/healthz", "/readyz"]})

        def _send_json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode() + b"\n", "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("event=http_request %s", format % args)

    return Handler


@contextmanager
def serve_endpoints(
    metrics: MetricsSettings,
    service: str,
    heartbeat: Heartbeat,
    *,
    ready: Sequence[Check] = (),
    live: Sequence[Check] = (),
    registry: CollectorRegistry = REGISTRY,
    stall_secs: float = DEFAULT_STALL_SECS,
) -> Iterator[ServiceEndpoints | None]:
    """Serve the endpoints while the block runs when ``metrics.port`` is set (else yield ``None``)."""
    if metrics.port is None:
        yield None
        return
    endpoints = ServiceEndpoints(
        metrics.host, metrics.port, service, heartbeat, ready, live, registry, stall_secs
    )
    endpoints.start()
    try:
        yield endpoints
    finally:
        endpoints.stop()
