"""The one way a service stops on request: SIGTERM (a service manager, ``docker stop``) or SIGINT (Ctrl-C).

Used by ``produce``, ``consume``, ``web`` and ``run``; each decides what "stop" means for it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["STOP_SIGNALS", "on_stop_signals"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def on_stop_signals(callback: Callable[[signal.Signals], None]) -> Iterator[None]:
    """Call ``callback`` with the signal on SIGTERM or SIGINT while the block runs, then put the previous
    handlers back. Only the main thread may set handlers: anywhere else this does nothing (the caller's
    own stop event still works)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        callback(signal.Signals(signum))

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
