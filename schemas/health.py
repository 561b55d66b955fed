"""A service loop's heartbeat: the loop says it is alive, the health endpoint asks how long ago.

The producer and the consumer beat from their loops (and from the waits inside them that are expected to
last, such as waiting for Kafka's acknowledgements); ``/healthz`` (:mod:`spoolbridge.service_http`)
answers 503 when the last beat is older than its limit. It lives here, below both services and the shell,
because it is the one thing they share about health. Thread-safe: one float, written by the loop and read
by the endpoint.
"""

from __future__ import annotations

import time

__all__ = ["Heartbeat"]


class Heartbeat:
    """When the service loop last said it is alive (``None``: it has not started yet)."""

    def __init__(self) -> None:
        self._last: float | None = None
        self.stopped = False

    def beat(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        """The loop returned: the service is shutting down (neither alive nor ready any more)."""
        self.stopped = True

    def age_secs(self, now: float | None = None) -> float | None:
        """Seconds since the last beat, or ``None`` before the first one."""
        last = self._last
        if last is None:
            return None
        return (time.monotonic() if now is None else now) - last
