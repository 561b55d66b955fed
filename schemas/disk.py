"""A full disk (or a spent quota) is a pause, never a crash: the one place that recognises it.

:func:`is_disk_full` says whether an ``OSError`` is ``ENOSPC``/``EDQUOT``; :func:`disk_full` turns one into
a :class:`DiskFullError` that names the folder and the bytes the write needed, for the producer's WARNING
and the page's 507. :class:`DiskBackoff` is the waiting between attempts (doubling, capped), so a full
disk is retried by itself and resumes when space returns.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from schemas.errors import SpoolbridgeError

__all__ = ["DiskBackoff", "DiskFullError", "disk_full", "free_bytes", "is_disk_full"]

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """True for an ``OSError`` saying there is no space (or no quota) left on the file system."""
    return isinstance(exc, OSError) and exc.errno in _FULL


class DiskFullError(SpoolbridgeError):
    """A write did not fit: ``folder`` is where it went, ``needed`` how many bytes it asked for (``None``
    when the failed call does not say), ``free`` what the file system had left when it was asked."""

    def __init__(self, folder: Path, needed: int | None, free: int | None) -> None:
        self.folder = folder
        self.needed = needed
        self.free = free
        need = f"needs {needed} bytes" if needed is not None else "needs more space"
        have = f", {free} bytes free" if free is not None else ""
        super().__init__(f"the disk is full: {folder} {need}{have}; free space there, then it resumes")


def free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged writer may still use under ``folder`` (``None`` when it cannot be asked)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full(exc: OSError, fallback: Path, needed: int | None = None) -> DiskFullError:
    """The :class:`DiskFullError` for ``exc``: its folder is the parent of the file it names (``fallback``
    when it names none)."""
    name = exc.filename
    folder = Path(os.fsdecode(name)).parent if isinstance(name, (str, bytes, os.PathLike)) else fallback
    return DiskFullError(folder, needed, free_bytes(folder if folder.exists() else fallback))


class DiskBackoff:
    """How long to wait before trying a write that did not fit again: ``first_secs``, doubling on each
    attempt that still does not fit, at most ``max_secs``; :meth:`reset` once one fits."""

    def __init__(self, first_secs: float = 1.0, max_secs: float = 60.0) -> None:
        self.first_secs = first_secs
        self.max_secs = max_secs
        self.attempts = 0

    def next_delay(self) -> float:
        delay: float = min(self.max_secs, self.first_secs * 2.0 ** min(self.attempts, 30))
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
