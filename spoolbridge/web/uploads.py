"""The uploads on disk: create one, ask how many bytes it has, append at that offset, finish it.

Layout, for an upload of ``steam.json`` into dataset ``games`` (every name here is one the producer skips):

- ``<inbox>/.spoolbridge/uploads/<id>.json``: what the upload is (dataset, file name, length) and, once
  finished, the ``source`` its records carry (``games/steam.json``);
- ``<inbox>/.spoolbridge/uploads/<id>.part``: the bytes received so far. Its size *is* the upload's
  offset, so a server restarted mid-upload resumes from the last byte that reached the disk.

Creating an upload touches no dataset folder, so an upload that never sends data makes no dataset and no
topics. The dataset's folder is made by its first PATCH (the producer makes the dataset's topics when the
folder appears, so the consumer has found them by the time the file is complete; the page sends a file
in one PATCH, so waiting for its last byte would lose that). When the last byte is written, the part
file is flushed to disk and linked to ``<inbox>/games/steam.json`` (a link, not a rename, so that a file
of that name already waiting there is never overwritten), then unlinked: the producer sees one complete
file appear, exactly as if it had been dropped there (it reads a file whose other name is a part file
here, see :mod:`producer.boundary`). An upload that chose its new dataset's id field is first read
through (:mod:`.idscan`, via a link named like the file in the uploads folder, so the reader sees the
file's shape): when values of that field repeat, the upload is refused with 409, its bytes and the
choice are deleted, and nothing reaches the dataset's folder. Dataset folders are opened from the
inbox's descriptor with ``O_NOFOLLOW``: a dataset folder that is a symbolic link is refused, never
written through. An upload nobody writes to for ``web.upload_expiry_hours`` is deleted with its bytes
(:meth:`UploadStore.expire`, run by the app every ten minutes), and so is what a full disk or a crash
left behind: a part file without its description, a description's half-written ``.tmp``, a scan's
link. A write that does not fit on the disk raises :class:`UploadError` 507 with a sentence and leaves
nothing new behind; the bytes already received stay.
This module knows nothing about HTTP; :mod:`.tus` speaks the protocol.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Container
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from producer.file_run import read_options_for
from producer.inbox.boundary import uploads_folder
from producer.inbox.choices import ChoiceError, DatasetChoices
from producer.inbox.versions import STATE_DIR_NAME
from producer.read.entry import ReadOptions, reading_suffix
from schemas.datasets import Datasets
from schemas.disk import is_disk_full

from .idscan import repeated_ids
from .names import dataset_folder, safe_file_name

__all__ = ["Upload", "UploadError", "UploadStore"]

log = logging.getLogger(__name__)

_ID = re.compile(r"[A-Za-z0-9_-]{22}")


class UploadError(Exception):
    """An upload request that cannot be honoured: ``status`` is the HTTP status, ``str()`` the reason."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Upload:
    """One upload: where it goes and how long it is; ``source`` is set once it is in the inbox;
    ``chose_id_field``: the id field this upload chose for its new dataset (checked when it completes)."""

    id: str
    dataset: str
    file_name: str
    length: int
    source: str | None = None
    chose_id_field: str | None = None

    @property
    def relative_part(self) -> str:
        """The part file, relative to the inbox (see the module docstring)."""
        return f"{STATE_DIR_NAME}/uploads/{self.id}.part"


class UploadStore:
    """Uploads into the datasets of one inbox, at most ``max_bytes`` each. Not thread-safe per upload: the
    caller lets one request at a time write to an upload (see :class:`~.tus.TusEndpoint`)."""

    def __init__(self, datasets: Datasets, max_bytes: int) -> None:
        self.datasets = datasets
        self.producer = datasets.settings.producer
        self.inbox = self.producer.inbox.absolute()
        self.max_bytes = max_bytes
        self.state = uploads_folder(self.inbox)
        self.choices = DatasetChoices(self.inbox)

    def create(
        self,
        dataset: str,
        file_name: str,
        length: int,
        id_field: str | None = None,
        records_path: str | None = None,
    ) -> Upload:
        """Register an upload of ``length`` bytes; raises :class:`UploadError` (the reason says which name
        or number is wrong). ``id_field``: the field the dataset's document ids come from, and
        ``records_path``: where its files keep their records, which a new dataset's first upload may
        choose (:mod:`producer.inbox.choices`)."""
        if length < 0:
            raise UploadError(400, "Upload-Length must be a number of bytes")
        if length > self.max_bytes:
            raise UploadError(
                413,
                f"{file_name!r} is {length} bytes, more than the largest upload this server accepts "
                f"({self.max_bytes} bytes, setting web.max_upload_bytes)",
            )
        try:
            name = safe_file_name(file_name)
            folder = dataset_folder(self.inbox, dataset, self.producer)
        except ValueError as exc:
            raise UploadError(400, str(exc)) from None
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UploadError(409, _not_a_folder(dataset))
        if os.path.lexists(folder / name):
            raise UploadError(409, self._waiting(dataset, name))
        chose_path = records_path is not None and self._choose(dataset, folder, records_path=records_path)
        try:
            chose = id_field is not None and self._choose(dataset, folder, id_field=id_field)
        except UploadError:
            if chose_path:
                self.choices.forget(dataset)  # the upload that made it does not happen
            raise
        upload = Upload(secrets.token_urlsafe(16), dataset, name, length, None, id_field if chose else None)
        part = self.inbox / upload.relative_part
        try:
            self.state.mkdir(parents=True, exist_ok=True)
            part.touch(exist_ok=False)
            self._save(upload)
        except OSError as exc:
            part.unlink(missing_ok=True)
            if chose or chose_path:
                self.choices.forget(dataset)  # no upload will check it
            raise _disk_full_or(exc, f"the upload of {name!r} cannot start", "start it again") from exc
        log.info("upload=%s dataset=%s file=%s length=%d event=created", upload.id, dataset, name, length)
        if length == 0:
            return self.finish(upload)
        return upload

    def get(self, upload_id: str) -> Upload:
        """The upload with this id; raises :class:`UploadError` 404 for an unknown (or malformed) id."""
        if not _ID.fullmatch(upload_id):
            raise UploadError(404, "no such upload")
        try:
            data = json.loads((self.state / f"{upload_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UploadError(404, "no such upload (it was cancelled or never created)") from None
        return Upload(**data)

    def unfinished(self) -> list[tuple[Upload, int]]:
        """Every upload that has not received its last byte, with how many bytes the server has, the
        oldest first: what a page opened anew (another tab, after a reload) can offer to resume."""
        found: list[tuple[float, Upload, int]] = []
        for path in self.state.glob("*.json") if self.state.is_dir() else ():
            try:
                upload = Upload(**json.loads(path.read_text(encoding="utf-8")))
                if upload.source is not None:
                    continue
                part = (self.inbox / upload.relative_part).stat()
            except (OSError, ValueError, TypeError):
                continue  # being written, finished under us, or not ours
            found.append((path.stat().st_mtime, upload, part.st_size))
        return [(upload, size) for _, upload, size in sorted(found, key=lambda f: f[0])]

    def offset(self, upload: Upload) -> int:
        """How many bytes the server has: the part file's size, or the whole length once finished."""
        if upload.source is not None:
            return upload.length
        try:
            return (self.inbox / upload.relative_part).stat().st_size
        except FileNotFoundError:
            raise UploadError(410, "the upload's bytes are gone; start it again") from None

    def open_at(self, upload: Upload, offset: int) -> int:
        """A file descriptor to append to the upload, checked to be at ``offset``: raises
        :class:`UploadError` 409 when the client's offset is not the server's."""
        if upload.source is not None:
            raise UploadError(409, "the upload is already complete")
        have = self.offset(upload)
        if offset != have:
            raise UploadError(409, f"Upload-Offset {offset} is not the server's offset {have}; ask with HEAD")
        os.close(self._dataset_folder(upload.dataset))  # the upload is real now: its dataset appears
        return os.open(self.inbox / upload.relative_part, os.O_WRONLY | os.O_APPEND)

    def finish(self, upload: Upload) -> Upload:
        """Move a complete upload into its dataset's folder (see the module docstring); returns it with its
        ``source``. Raises :class:`UploadError` 409, keeping the bytes, when a file of that name is waiting
        there (the client may finish again once the producer has taken that file), and 409, deleting the
        upload and its dataset's choice, when the id field this upload chose has repeated values."""
        part = self.inbox / upload.relative_part
        if upload.chose_id_field is not None:
            self._check_unique(upload, upload.chose_id_field)
        with open(part, "rb") as handle:
            os.fsync(handle.fileno())
        folder_fd = self._dataset_folder(upload.dataset)
        try:
            try:
                os.link(part, upload.file_name, dst_dir_fd=folder_fd, follow_symlinks=False)
            except FileExistsError:
                raise UploadError(409, self._waiting(upload.dataset, upload.file_name)) from None
            done = replace(upload, source=f"{upload.dataset}/{upload.file_name}")
            try:
                self._save(done)  # before the part goes: a finish that does not fit is undone, to be retried
            except OSError as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(upload.file_name, dir_fd=folder_fd)
                what = f"{upload.file_name!r} is complete but cannot be handed over"
                raise _disk_full_or(exc, what, "resume the upload: its bytes are kept") from exc
            os.unlink(part)
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)
        log.info("upload=%s source=%s bytes=%d event=complete", upload.id, done.source, upload.length)
        return done

    def cancel(self, upload: Upload) -> None:
        """Forget an upload and delete its bytes (a finished upload's file stays: it is the inbox's now)."""
        if upload.source is None:
            (self.inbox / upload.relative_part).unlink(missing_ok=True)
            # where an upload begun by an earlier version kept its bytes (such an upload starts again)
            legacy = self.inbox / upload.dataset / f".{upload.file_name}.{upload.id}.part"
            if not legacy.parent.is_symlink():
                legacy.unlink(missing_ok=True)
        (self.state / f"{upload.id}.json").unlink(missing_ok=True)
        log.info("upload=%s event=cancelled", upload.id)

    def expire(
        self, older_than_secs: float, now: float | None = None, busy: Callable[[], Container[str]] = frozenset
    ) -> int:
        """Forget uploads nobody wrote to for ``older_than_secs``: an unfinished one with its bytes, a
        finished one's description only; never one whose id is in ``busy()`` (a request is writing it).
        Returns how many were removed."""
        now = time.time() if now is None else now
        removed = 0
        for path in self.state.glob("*.json") if self.state.is_dir() else ():
            try:
                upload = Upload(**json.loads(path.read_text(encoding="utf-8")))
                part = self.inbox / upload.relative_part
                touched = (part if upload.source is None and part.exists() else path).stat().st_mtime
            except (OSError, ValueError, TypeError):
                continue  # being written, or not ours: the next round sees it again
            if now - touched >= older_than_secs and upload.id not in busy():
                self.cancel(upload)
                removed += 1
        removed += self._expire_orphans(now - older_than_secs)
        if removed:
            log.info("uploads_expired=%d older_than_secs=%.0f", removed, older_than_secs)
        return removed

    def _dataset_folder(self, dataset: str) -> int:
        """A descriptor of the dataset's folder, made if missing, opened from the inbox's descriptor
        without following a link (the caller closes it); raises :class:`UploadError` 409 when the name
        is a link or not a folder."""
        inbox_fd = os.open(self.inbox, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(dataset, 0o777, dir_fd=inbox_fd)
            try:
                return os.open(
                    dataset, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=inbox_fd
                )
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UploadError(409, _not_a_folder(dataset)) from None
                raise
        finally:
            os.close(inbox_fd)

    def _expire_orphans(self, before: float) -> int:
        """Delete part files whose upload has no description, and half-written descriptions, untouched
        since ``before`` (a full disk or a crash between the two writes of :meth:`create`)."""
        if not self.state.is_dir():
            return 0
        parts = [p for p in self.state.glob("*.part") if _ID.fullmatch(p.stem)]
        orphans = [p for p in parts if not (self.state / f"{p.stem}.json").exists()]
        orphans += list(self.state.glob("*.tmp")) + list(self.state.glob("*.scan.*"))
        removed = 0
        for path in orphans:
            try:
                if path.stat().st_mtime <= before:
                    path.unlink()
                    removed += 1
                    log.info("file=%s event=orphan_expired", path.relative_to(self.inbox))
            except OSError:
                continue  # gone meanwhile, or not ours to delete: the next round looks again
        return removed

    def _choose(
        self, dataset: str, folder: Path, *, id_field: str | None = None, records_path: str | None = None
    ) -> bool:
        """Record the dataset's id field or records path; returns whether this call made the choice (not
        an earlier upload). 409 when it has another, or files read without one."""
        read = (self.producer.done_path / dataset, self.producer.failed_path / dataset)
        waiting = folder.is_dir() and any(not entry.name.startswith(".") for entry in folder.iterdir())
        has_files = waiting or any(p.exists() for p in read)
        chosen = self.datasets.get(dataset)
        try:
            if records_path is not None:
                chose = self.choices.choose_records_path(chosen, records_path, has_files=has_files)
            else:
                chose = self.choices.choose(chosen, id_field or "", has_files=has_files)
        except ChoiceError as exc:
            raise UploadError(409, str(exc)) from None
        if chose:
            if records_path is not None:
                log.info("dataset=%s records_path=%s event=records_path_chosen", dataset, records_path)
            else:
                log.info("dataset=%s id_field=%s event=id_field_chosen", dataset, id_field)
        return chose

    def _check_unique(self, upload: Upload, id_field: str) -> None:
        """Refuse (409) a complete upload whose records repeat values of the id field it chose: the
        choice and the upload's bytes are deleted (the user uploads again with another choice or none)."""
        name = upload.file_name
        shaped = self.state / f"{upload.id}.scan{reading_suffix(name)}"  # read as its name says
        settings = self.choices.apply(self.datasets.get(upload.dataset)).producer
        options = replace(  # parsed records: the id is read from each (never the spliced text)
            read_options_for(ReadOptions(), settings, f"{upload.dataset}/{name}"), splice=None
        )
        shaped.unlink(missing_ok=True)
        os.link(self.inbox / upload.relative_part, shaped)
        try:
            repeats = repeated_ids(shaped, id_field, options)
        finally:
            shaped.unlink(missing_ok=True)
        if not repeats.records:
            return
        self.choices.forget(upload.dataset)
        self.cancel(upload)
        log.warning(
            "upload=%s dataset=%s id_field=%s repeated_records=%d event=id_field_refused",
            upload.id, upload.dataset, id_field, repeats.records,
        )  # fmt: skip
        first = ", ".join(repr(_shortened(value)) for value in repeats.first)
        raise UploadError(
            409,
            f"{repeats.records} records share a value of {id_field!r} with another record (first: {first}): "
            "it cannot be the document id; upload again without an id field or choose another",
        )

    def _save(self, upload: Upload) -> None:
        path = self.state / f"{upload.id}.json"
        temp = path.with_suffix(".tmp")
        try:
            temp.write_text(json.dumps(asdict(upload)), encoding="utf-8")
        except OSError:
            temp.unlink(missing_ok=True)  # half-written: a full disk
            raise
        os.replace(temp, path)

    @staticmethod
    def _waiting(dataset: str, name: str) -> str:
        return (
            f"a file named {name!r} is waiting in dataset {dataset!r} and has not been read yet; "
            "upload again once it has (the same name gives the same document ids, so nothing is duplicated)"
        )


def _not_a_folder(dataset: str) -> str:
    return (
        f"dataset {dataset!r}: its entry in the inbox is a symbolic link or not a folder, and the page "
        "writes only into real folders inside the inbox; ask whoever manages the inbox to replace it"
    )


def _shortened(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _disk_full_or(exc: OSError, what: str, then: str) -> Exception:
    """A full disk as :class:`UploadError` 507 (a sentence the page shows); any other error as it is."""
    if not is_disk_full(exc):
        return exc
    return UploadError(507, f"{what}: the server's disk is full. Once space is freed there, {then}.")
