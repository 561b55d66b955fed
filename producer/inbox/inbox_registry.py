"""One producer per folder tree: refuse an inbox that contains, or lies inside, a running producer's inbox.

Two producers on nested inboxes (``inbox`` and ``inbox/x``) would both read ``inbox/x``'s files (every
record lands in two indices) and the outer one would read the inner one's manifests as input. The
per-inbox :class:`~producer.inbox.watcher.InboxLock` cannot see that, so every running producer also holds a
lock file in a per-user registry folder that names its inbox:

- ``<registry>/<hash of the inbox>.lock`` holds the inbox's resolved path and an exclusive ``flock`` for
  as long as the producer runs; the lock dies with the process (even ``kill -9``), so a leftover file
  whose lock can be taken is stale and removed;
- a producer writes its own entry *before* it looks at the others, so of two producers starting at the
  same moment at least one sees the other (both may refuse; neither runs beside the other).

The registry is ``$XDG_RUNTIME_DIR/spoolbridge/producers``, else ``spoolbridge-<uid>/producers`` in the
system's temporary folder: producers of one user on one machine see each other (a shared inbox on a
network folder is still guarded by the inbox lock alone).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path
from types import TracebackType

from schemas.errors import SpoolbridgeError

__all__ = ["NestedInboxError", "ProducerRegistry", "default_registry"]


class NestedInboxError(SpoolbridgeError):
    """Another running producer's inbox contains this inbox, or lies inside it."""


def default_registry() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_absolute():
        return Path(runtime) / "spoolbridge" / "producers"
    return Path(tempfile.gettempdir()) / f"spoolbridge-{os.getuid()}" / "producers"


def _nested(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


class ProducerRegistry:
    """This producer's entry in the registry, held from :meth:`acquire` to :meth:`release`.

    :meth:`acquire` raises :class:`NestedInboxError` (one line naming both inboxes) when a running
    producer's inbox and this one contain each other.
    """

    def __init__(self, inbox: Path, registry: Path | None = None) -> None:
        self.inbox = inbox.resolve()
        self.registry = registry if registry is not None else default_registry()
        digest = hashlib.sha256(os.fsencode(self.inbox)).hexdigest()[:32]
        self.entry = self.registry / f"{digest}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.registry.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.entry, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # the same inbox: the inbox lock has its own message for that
            os.close(fd)
            return
        os.ftruncate(fd, 0)
        os.write(fd, os.fsencode(self.inbox))
        self._fd = fd
        other = self._running_nested_inbox()
        if other is not None:
            self.release()
            raise NestedInboxError(
                f"another producer is watching {other}, which "
                + ("contains" if self.inbox.is_relative_to(other) else "lies inside")
                + f" {self.inbox}; run one producer per folder tree (stop it, or use separate folders)"
            )

    def _running_nested_inbox(self) -> Path | None:
        for entry in sorted(self.registry.glob("*.lock")):
            if entry == self.entry:
                continue
            inbox = self._holder(entry)
            if inbox is not None and _nested(inbox, self.inbox):
                return inbox
        return None

    @staticmethod
    def _holder(entry: Path) -> Path | None:
        """The inbox of the running producer holding ``entry``; removes a stale entry."""
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:  # held: its producer runs
                text = os.read(fd, 65536)
                return Path(os.fsdecode(text)) if text else None
            entry.unlink(missing_ok=True)  # nobody holds it: its producer is gone
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            self.entry.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ProducerRegistry:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
