"""Logging set-up: one line per event, ``key=value`` context, quiet client libraries."""

from __future__ import annotations

import logging
import sys


def configure_logging(*, debug: bool = False) -> None:
    """Log to stderr at INFO (DEBUG with ``debug``); client libraries stay at WARNING unless debugging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("urllib3", "watchdog", "kafka"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
    # opensearch-py logs every failed request with a traceback at WARNING; spoolbridge reports those itself.
    logging.getLogger("opensearch").setLevel(logging.DEBUG if debug else logging.ERROR)
