"""Moving the file that was read, never whatever its path names at move time.

A new version may be renamed onto a path at any moment, including the few milliseconds between the last
check that the file did not change and its move to ``done/`` or ``failed/``. Renaming the *path* would then
move the new version unread (the manifest describing the old one). :func:`move_read_file` instead:

1. puts the open descriptor's own file at the target: a hard link made through ``/proc/self/fd/<n>``
   (``linkat`` with ``AT_SYMLINK_FOLLOW``), or, where that is impossible (another file system, no
   ``/proc``, the file already unlinked by a replacement), a copy read from the descriptor;
2. removes the inbox entry only if it still names that file: the entry is renamed to a hidden name beside
   it (atomic) and checked there; a different file (a newer version) is linked back under its name
   (unless an even newer one took the name meanwhile) and stays in the inbox to be read next.

The inbox entry is absent only for the instant between the rename and the link back; a version renamed
onto the path in that instant simply wins (it is newer than the one set aside).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

__all__ = ["move_read_file"]

log = logging.getLogger("producer.settle_move")  # the name it had before the move: logs are filtered by it

_PROC_FD = Path("/proc/self/fd")


def move_read_file(path: Path, fd: int, target: Path) -> bool:
    """Place the file open as ``fd`` (read from ``path``) at ``target`` and remove ``path`` if it still
    names that file. Returns True when ``path`` was the read file (now removed) or is gone, False when it
    names another file now (left in place: a new version to read)."""
    read = os.fstat(fd)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    temp = target.with_name(f".{target.name}.moving")
    temp.unlink(missing_ok=True)
    try:
        _link_open_file(fd, temp)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOENT, errno.EPERM, errno.EACCES, errno.EMLINK):
            raise
        _copy_from(fd, temp, read.st_mode)
    os.replace(temp, target)
    return _remove_if_same(path, (read.st_dev, read.st_ino))


def _link_open_file(fd: int, temp: Path) -> None:
    """Hard-link the descriptor's file at ``temp``: ``linkat(AT_SYMLINK_FOLLOW)`` of ``/proc/self/fd/<n>``.

    ``os.link`` calls plain ``link()``, which never follows the ``/proc`` link (and fails with EXDEV), unless
    a directory descriptor is given; then it calls ``linkat`` with ``AT_SYMLINK_FOLLOW``."""
    folder = os.open(temp.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(_PROC_FD / str(fd), temp.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _copy_from(fd: int, temp: Path, mode: int) -> None:
    """A copy of the descriptor's file (from its start), with its permission bits and times."""
    out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode & 0o7777)
    try:
        offset = 0
        while chunk := os.pread(fd, 1 << 20, offset):
            os.write(out, chunk)
            offset += len(chunk)
        st = os.fstat(fd)
        os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
    finally:
        os.close(out)


def _remove_if_same(path: Path, identity: tuple[int, int]) -> bool:
    aside = path.with_name(f".{path.name}.settling-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True
    st = os.lstat(aside)
    if (st.st_dev, st.st_ino) == identity:
        os.unlink(aside)
        return True
    try:
        os.link(aside, path, follow_symlinks=False)
        log.info("file=%s event=new_version_arrived_before_move action=left_in_inbox_read_next", path)
    except FileExistsError:
        log.info("file=%s event=superseded_before_read action=newer_version_kept", path)
    os.unlink(aside)
    return False
