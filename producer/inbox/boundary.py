"""The inbox is a boundary: which entries may be read, and opening one so that what was checked is read.

Only regular files are input. A symbolic link is refused unless ``producer.follow_symlinks`` is set, and
even then its target must be a regular file inside the inbox (not in ``done/`` or ``failed/``). FIFOs,
sockets and devices are refused without being opened (opening a FIFO for reading could block the producer
forever). Every folder from the inbox down to the file is opened with ``O_NOFOLLOW``, the file itself with
``O_NOFOLLOW | O_NONBLOCK``, and ``fstat`` confirms that what was opened is a regular file: replacing a
checked entry by a link between the check and the open gains nothing.

A file with more than one hard link is refused too: another name of it may lie outside the inbox (``ln
/etc/app/secret.json inbox/``), and opening it beneath the inbox cannot tell. The one exception is the
upload page finishing an upload: it links its part file (in :func:`uploads_folder`, inside the inbox)
into the dataset's folder and then unlinks the part, so for a moment the file has two names, both in the
inbox. A file whose only other name is such a part is read.

:class:`OpenedInput` keeps that descriptor open while the file is processed. Its ``read_path`` is a path the
reader can open that names the *same* file: on Linux a link, in a private folder, to ``/proc/self/fd/<n>``
under the file's own name (the reader tells shapes by the name); elsewhere the checked path itself, where
:meth:`OpenedInput.changed` after reading is the guard. ``changed`` also tells when the file was written,
replaced or removed while it was read, so that it is not moved to ``done/`` (it is read again).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from producer.inbox.versions import STATE_DIR_NAME

__all__ = ["InputOpener", "OpenedInput", "RefusedInputError", "report_mode", "uploads_folder"]

_PROC_FD = Path("/proc/self/fd")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def uploads_folder(inbox: Path) -> Path:
    """Where the upload page keeps its uploads (descriptions and part files): hidden, never input."""
    return inbox / STATE_DIR_NAME / "uploads"


class RefusedInputError(Exception):
    """An inbox entry that is not read (see the module docstring): ``reason`` and what to do, ``hint``."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def report_mode(source_mode: int | None) -> int:
    """Permissions for a report about a file: read/write for the producer's user, and for group and
    others at most what they had on the source (nothing when the source was not a regular file)."""
    if source_mode is None:
        return 0o600
    return 0o600 | (source_mode & 0o066)


class OpenedInput:
    """A checked, open input file (see the module docstring); a context manager that closes it."""

    def __init__(self, fd: int, path: Path, *, followed: bool, read_path: Path | None = None) -> None:
        self.fd = fd
        self.path = path
        self.followed = followed
        self.before = os.fstat(fd)
        self.read_path = read_path or path

    @property
    def mode(self) -> int:
        return self.before.st_mode

    @property
    def report_mode(self) -> int:
        """Permissions for the reports and ids written about this file (:func:`report_mode`)."""
        return report_mode(self.before.st_mode)

    def size_and_sha256(self) -> tuple[int, str]:
        with open(self.fd, "rb", closefd=False) as handle:
            handle.seek(0)
            digest = hashlib.file_digest(handle, "sha256")
            return handle.tell(), digest.hexdigest()

    def changed(self) -> str | None:
        """Why the file must not be settled now (written, replaced or removed since it was opened), or
        ``None`` when the path still names the opened file with the size and mtime it had when opened."""
        after = os.fstat(self.fd)
        if (after.st_size, after.st_mtime_ns) != (self.before.st_size, self.before.st_mtime_ns):
            return "it changed while it was read (its size or modification time differ)"
        try:
            now = os.stat(self.path, follow_symlinks=self.followed)
        except FileNotFoundError:
            return "it was moved or deleted while it was read"
        if (now.st_dev, now.st_ino) != (after.st_dev, after.st_ino):
            return "it was replaced by another file while it was read"
        return None

    def close(self) -> None:
        if self.read_path != self.path:
            self.read_path.unlink(missing_ok=True)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OpenedInput:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class InputOpener:
    """Opens inbox entries as input files, or refuses them (see the module docstring)."""

    def __init__(self, inbox: Path, excluded: tuple[Path, ...], *, follow_symlinks: bool = False) -> None:
        self.inbox = inbox
        self.excluded = excluded
        self.follow_symlinks = follow_symlinks
        self._private: Path | None = None  # holds the links to /proc/self/fd/<n>, one at a time

    def close(self) -> None:
        """Remove the private folder (files opened before stay usable until they are closed)."""
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    def open(self, path: Path) -> OpenedInput:
        """Raises :class:`RefusedInputError` for an entry that is not read, ``FileNotFoundError`` when it is
        gone, ``IsADirectoryError`` for a folder, other ``OSError`` (e.g. ``PermissionError``) when it cannot
        be opened."""
        st = os.lstat(path)
        followed = stat.S_ISLNK(st.st_mode)
        if followed:
            relative = self._link_target(path)
        else:
            _require_regular(st.st_mode, path)
            relative = path.relative_to(self.inbox)
        fd = self._open_beneath(relative)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):  # replaced between the check and the open
                raise RefusedInputError("it is not a regular file", "drop regular files only")
            if opened.st_nlink > 1 and not self._linked_to_an_upload_part(opened):
                raise RefusedInputError(
                    f"it has {opened.st_nlink} hard links (other names for the same file, which may lie "
                    "outside the inbox); only files whose one name is in the inbox are read",
                    "copy the file into the inbox (cp, not ln), then delete this link",
                )
            return OpenedInput(fd, path, followed=followed, read_path=self._pinned_path(fd, path.name))
        except BaseException:
            os.close(fd)
            raise

    def _link_target(self, path: Path) -> Path:
        """The link's target relative to the inbox, if links are followed and it stays inside."""
        shown = os.readlink(path)
        if not self.follow_symlinks:
            raise RefusedInputError(
                f"it is a symbolic link (to {shown}); only regular files are read",
                "copy or move the file itself into the inbox (or set producer.follow_symlinks=true for "
                "links to files inside the inbox)",
            )
        target = Path(os.path.realpath(path))
        inbox = Path(os.path.realpath(self.inbox))
        outside = RefusedInputError(
            f"it is a symbolic link to {shown}, outside the inbox; links are followed only within it",
            "copy or move the file itself into the inbox",
        )
        try:
            relative = target.relative_to(inbox)
        except ValueError:
            raise outside from None
        for folder in self.excluded:
            real = Path(os.path.realpath(folder))
            if target == real or real in target.parents:
                raise outside
        try:
            _require_regular(os.lstat(target).st_mode, target)
        except FileNotFoundError:
            raise RefusedInputError(
                f"it is a symbolic link to {shown}, which does not exist", "drop the file itself"
            ) from None
        return relative

    def _linked_to_an_upload_part(self, opened: os.stat_result) -> bool:
        """True when the file has two names and the other is an upload's part file (see the module
        docstring): both names are then inside the inbox."""
        if opened.st_nlink != 2:
            return False
        try:  # the folder is opened like an input's, so a link planted there cannot point elsewhere
            folder_fd = self._open_folder(uploads_folder(self.inbox).relative_to(self.inbox).parts)
        except (OSError, RefusedInputError):  # no uploads folder: no upload
            return False
        try:
            with os.scandir(folder_fd) as entries:
                for entry in entries:
                    if entry.name.endswith(".part") and entry.is_file(follow_symlinks=False):
                        found = entry.stat(follow_symlinks=False)
                        if (found.st_dev, found.st_ino) == (opened.st_dev, opened.st_ino):
                            return True
        finally:
            os.close(folder_fd)
        return False

    def _pinned_path(self, fd: int, name: str) -> Path | None:
        """A path named ``name`` that opens the file behind ``fd`` itself (``None`` without /proc)."""
        if not _PROC_FD.is_dir():
            return None
        if self._private is None or not self._private.is_dir():
            self._private = Path(tempfile.mkdtemp(prefix="spoolbridge-reading-"))
        link = self._private / name
        link.unlink(missing_ok=True)  # left by a file whose processing was cut short
        os.symlink(_PROC_FD / str(fd), link)
        return link

    def _open_beneath(self, relative: Path) -> int:
        """Open ``inbox/relative`` following no link on the way (see the module docstring)."""
        *folders, name = relative.parts
        dir_fd = self._open_folder(folders)
        try:
            _require_regular(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode, relative)
            try:
                return os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # replaced by a link since the check
                    raise RefusedInputError("it is a symbolic link", "drop regular files only") from None
                raise
        finally:
            os.close(dir_fd)

    def _open_folder(self, folders: Sequence[str]) -> int:
        """A descriptor of ``inbox/<folders>``, following no link on the way (the caller closes it)."""
        dir_fd = os.open(self.inbox, _DIR_FLAGS)
        try:
            for folder in folders:
                try:
                    inner = os.open(folder, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise RefusedInputError(
                            f"the folder {folder!r} on its path is a symbolic link (or no longer a folder)",
                            "move the files themselves into the inbox",
                        ) from None
                    raise
                os.close(dir_fd)
                dir_fd = inner
        except BaseException:
            os.close(dir_fd)
            raise
        return dir_fd


def _require_regular(mode: int, path: Path) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if stat.S_ISLNK(mode):
        raise RefusedInputError("it is a symbolic link (it was replaced by one)", "drop regular files only")
    raise RefusedInputError(
        f"it is {_kind(mode)}, not a regular file; it was not opened", "drop regular files only"
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"
