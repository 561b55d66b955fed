"""``spoolbridge forget <dataset>/<file> [--wait [SECS]]``: remove every document of a file's versions from
its dataset.

It writes a removal request (:mod:`producer.inbox.removals`); the producer carries it out between files
(tombstones for every id, acknowledged by Kafka, then a ``removed`` entry in the file's history,
:mod:`producer.removal`). One line says what was done; with ``--wait``, it waits until the producer
reports the removal done and says how many documents were deleted (exit 3 when it did not in time: the
request stays and is carried out when the producer runs). An unknown dataset or file is a one-line error.
"""

from __future__ import annotations

import time

from producer.inbox.removals import RemovalRequests, already_removed, removal_problem
from producer.inbox.versions import Version, VersionHistory
from schemas.errors import SpoolbridgeError
from schemas.settings import Settings

__all__ = ["WAIT_TIMED_OUT", "forget"]

#: Exit code when ``--wait`` ran out before the producer carried the request out (as ``status --wait``).
WAIT_TIMED_OUT = 3
_POLL_SECS = 0.2


def forget(settings: Settings, source: str, wait_secs: float | None = None) -> int:
    """Ask for ``source``'s removal (see the module docstring); prints one line, returns the exit code."""
    inbox = settings.producer.inbox.absolute()
    problem = removal_problem(inbox, source)
    if problem is not None:
        raise SpoolbridgeError(problem)
    history = VersionHistory(inbox)
    removed = already_removed(history, source)
    if removed is not None:
        print(f"{source} is already removed: {_deleted(removed)}")
        return 0
    requests = RemovalRequests(inbox)
    requests.request(source)
    if wait_secs is None:
        print(
            f"asked the producer to remove every document of {source}; it does so between files "
            f"(`spoolbridge status` shows it removed, `spoolbridge forget {source} --wait` waits for it)"
        )
        return 0
    deadline = time.monotonic() + wait_secs
    while requests.is_pending(source) and time.monotonic() < deadline:
        time.sleep(_POLL_SECS)
    removed = already_removed(history, source)
    if removed is None:
        print(
            f"{source} is not removed yet after {wait_secs:g} s: is the producer running (`spoolbridge "
            "run` or `produce`)? The request stays and is carried out when it runs"
        )
        return WAIT_TIMED_OUT
    print(f"removed {source}: {_deleted(removed)}")
    return 0


def _deleted(version: Version) -> str:
    return (
        f"{version.deleted:,} document{'' if version.deleted == 1 else 's'} deleted from its dataset "
        f"(version {version.number} of its history, {version.finished_at})"
    )
