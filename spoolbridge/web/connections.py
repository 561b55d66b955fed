"""What one connection may hold: header and body read timeouts and a connection limit, for uvicorn.

uvicorn times out only idle keep-alive connections: a client that opens a connection and sends part of its
headers (or nothing) holds a file descriptor for ever, and ~1,000 such clients take every descriptor of the
default limit, so the next ``accept()`` fails (EMFILE) and even an authorised request is not answered.
:func:`limited_protocol` makes uvicorn's own HTTP/1.1 protocol class keep these rules (``web.*``):

- **header timeout** (``header_timeout_secs``, 10 s): a connection whose request headers are not complete
  this long after it opened, or after its last answer, is closed;
- **body timeout** (``body_timeout_secs``, 30 s): a request whose body sends no byte for this long is cut
  off (an upload keeps the bytes it received; the client resumes from HEAD's offset);
- **connection limit** (``max_connections``, 768, kept :data:`RESERVED_DESCRIPTORS` (256) below the
  process's open-file limit, so 768 at the usual 1,024): a new
  connection over the limit closes the oldest connection that is not in the middle of a request (half-open
  or idle), so the newest client is always served; when every connection is mid-request, the new one is
  closed instead.

A connection mid-request whose body is complete (the app is answering: a search, a progress stream) is
never timed out here: its cost is the app's to bound.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from schemas.settings import WebSettings

__all__ = [
    "ACCEPT_BACKLOG",
    "RESERVED_DESCRIPTORS",
    "ConnectionRules",
    "connection_limit",
    "limited_protocol",
]

log = logging.getLogger(__name__)

#: connections accepted in one go (asyncio's accept loop takes up to the listen backlog at once, and a
#: connection is counted only a few loop turns later, so several bursts can be in flight; measured: 128
#: ran out of descriptors under 1,100 half-open connections, 32 did not); also the kernel's queue of
#: connections waiting to be accepted
ACCEPT_BACKLOG = 32
#: descriptors left for everything but counted connections: accept bursts in flight, connections pushed
#: out but not yet closed, Kafka and OpenSearch clients, files being written
RESERVED_DESCRIPTORS = 256
_SWEEP_SECS = 1.0


def connection_limit(configured: int) -> int:
    """``web.max_connections``, lowered to stay :data:`RESERVED_DESCRIPTORS` under the open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(8, min(configured, soft - RESERVED_DESCRIPTORS))


class ConnectionRules:
    """The open connections of one server, oldest first, and the rules of the module docstring."""

    def __init__(
        self,
        max_connections: int,
        header_timeout_secs: float,
        body_timeout_secs: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_connections = max_connections
        self.header_timeout_secs = header_timeout_secs
        self.body_timeout_secs = body_timeout_secs
        self.clock = clock
        self.open: dict[Any, None] = {}  # a dict keeps arrival order: the first is the oldest
        self._sweeper: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, web: WebSettings) -> ConnectionRules:
        limit = connection_limit(web.max_connections)
        if limit < web.max_connections:
            log.warning(
                "max_connections=%d configured=%d event=connection_limit_lowered reason=open_file_limit",
                limit,
                web.max_connections,
            )
        return cls(limit, web.header_timeout_secs, web.body_timeout_secs)

    def opened(self, connection: Any) -> bool:
        """Count a new connection; False when it must be closed (every other one is mid-request)."""
        if len(self.open) >= self.max_connections:
            oldest = next((c for c in self.open if not _in_request(c)), None)
            if oldest is None:
                log.warning("connections=%d event=connection_refused reason=limit", len(self.open))
                return False
            self.close(oldest)
        self.open[connection] = None
        if self._sweeper is None:
            self._schedule(connection.loop)
        return True

    def closed(self, connection: Any) -> None:
        self.open.pop(connection, None)

    def close(self, connection: Any) -> None:
        self.open.pop(connection, None)
        if not connection.transport.is_closing():
            connection.transport.close()

    def overdue(self, now: float) -> list[Any]:
        """The connections the timeouts close at ``now``."""
        late = []
        for connection in self.open:
            state = connection.conn.their_state
            if state is h11.IDLE and not _in_request(connection):
                if now - connection.waiting_since > self.header_timeout_secs:
                    late.append(connection)
            elif state is h11.SEND_BODY and now - connection.last_data_at > self.body_timeout_secs:
                late.append(connection)
        return late

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = loop.call_later(_SWEEP_SECS, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        for connection in self.overdue(self.clock()):
            self.close(connection)
        self._sweeper = None
        if self.open:
            self._schedule(loop)


def _in_request(connection: Any) -> bool:
    """A request was received and its answer is not complete yet."""
    cycle = connection.cycle
    return cycle is not None and not cycle.response_complete


def limited_protocol(rules: ConnectionRules) -> type[H11Protocol]:
    """uvicorn's h11 protocol class, keeping ``rules``."""

    class LimitedH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self.waiting_since = self.last_data_at = rules.clock()
            super().connection_made(transport)
            if not rules.opened(self):
                transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            rules.closed(self)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self.last_data_at = rules.clock()
            super().data_received(data)

        def on_response_complete(self) -> None:
            self.waiting_since = rules.clock()  # the next request's headers are timed from here
            super().on_response_complete()

    return LimitedH11Protocol
