"""A small tmpfs mounted for one test: a real full disk (``ENOSPC``) without filling the machine's.

Mounting needs root (or ``CAP_SYS_ADMIN``); where it is not permitted the test fails and says why, never
skips, because a full disk that is never tried is not a full disk that was handled.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["fill", "mounted_tmpfs"]


@contextmanager
def mounted_tmpfs(folder: Path, size_bytes: int) -> Iterator[Path]:
    """``folder`` (an existing, empty folder) as a tmpfs of ``size_bytes``; unmounted whatever happens."""
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if mounted.returncode != 0:
        reason = mounted.stderr.strip() or f"exit code {mounted.returncode}"
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (needs root or CAP_SYS_ADMIN): {reason}")
    try:
        yield folder
    finally:
        # lazy: a process stopped a moment ago may still hold a descriptor on it
        subprocess.run(["umount", "-l", str(folder)], check=True, timeout=30)


def fill(folder: Path, room_bytes: int) -> Path:
    """Fill ``folder``'s file system, then give back ``room_bytes``; returns the hidden filler file (delete
    it to free the space)."""
    filler = folder / ".filler"
    chunk = b"\0" * (64 << 10)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while os.write(fd, chunk):
            pass
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - room_bytes))
    return filler
