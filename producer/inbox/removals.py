"""Requests to remove a file's documents from its dataset: ``spoolbridge forget`` and the page write them,
the producer carries them out (:mod:`producer.removal`).

A request is a small JSON file in the inbox's state folder, ``<inbox>/.spoolbridge/removals/``, named by a
hash of the file's relative path (``{"source": ..., "requested_at": ...}``): asking twice for the same file
is one request. Only the producer writes the version history, so the CLI and the page never send
tombstones themselves; the producer, which reads files one at a time, carries out the pending requests
between files with its own Kafka producer and removes each request once its version history says
``removed``. A request whose tombstones Kafka did not acknowledge stays, and is carried out again (the same
tombstones: idempotent).

:func:`removal_problem` is the one check of what may be removed (the CLI and the page ask it): a dataset
the inbox has, and a file of it that has a version history or ids.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import orjson

from producer.inbox.versions import STATE_DIR_NAME, Version, VersionHistory
from schemas.datasets import DatasetNameError, Datasets

__all__ = ["RemovalRequest", "RemovalRequests", "already_removed", "removal_problem"]

_FOLDER = "removals"


@dataclass(frozen=True, slots=True)
class RemovalRequest:
    """One pending request: the file's relative path, and the request file that holds it."""

    source: str
    path: Path
    requested_at: str


class RemovalRequests:
    """The pending removal requests of one inbox (see the module docstring)."""

    def __init__(self, inbox: Path) -> None:
        self.folder = inbox / STATE_DIR_NAME / _FOLDER

    def path_of(self, source: str) -> Path:
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.folder / f"{digest}.json"

    def request(self, source: str) -> RemovalRequest:
        """Write (or write again) the request to remove ``source``'s documents; atomic (a reader sees the
        whole request or none)."""
        path = self.path_of(source)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        requested_at = datetime.now(UTC).isoformat()
        temp = path.with_name(f".{path.name}.part")
        temp.unlink(missing_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps({"source": source, "requested_at": requested_at}))
        os.replace(temp, path)
        return RemovalRequest(source, path, requested_at)

    def pending(self) -> Iterator[RemovalRequest]:
        """Every request waiting to be carried out, oldest first (an unreadable one is skipped)."""
        try:
            entries = sorted(self.folder.glob("[0-9a-f]*.json"), key=_mtime)
        except OSError:
            return
        for path in entries:
            try:
                data = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            source = data.get("source") if isinstance(data, dict) else None
            if isinstance(source, str) and self.path_of(source) == path:
                yield RemovalRequest(source, path, str(data.get("requested_at", "")))

    def is_pending(self, source: str) -> bool:
        return self.path_of(source).is_file()

    def done(self, request: RemovalRequest) -> None:
        """The request was carried out (the version history says so)."""
        request.path.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def removal_problem(inbox: Path, source: str) -> str | None:
    """Why ``source`` (``<dataset>/<file>``, or ``<file>`` of the default dataset) cannot be removed, in
    one line; None when it can. Its dataset must be one of the inbox's, and the file must have been read
    (a version history, or ids an interrupted read left)."""
    parts = PurePosixPath(source).parts
    if not parts or source.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return f"{source!r} is not a file of the inbox: name it <dataset>/<file>, as status lists it"
    try:
        dataset = Datasets.name_of_source(source)
    except DatasetNameError as exc:
        return f"unknown dataset {exc.folder!r}: {exc.problem}"
    history = VersionHistory(inbox)
    if dataset is not None and not ((inbox / dataset).is_dir() or (history.folder / dataset).is_dir()):
        return (
            f"unknown dataset {dataset!r}: the inbox has no folder of that name (status lists the datasets)"
        )
    if not history.has_file(source):
        where = f"dataset {dataset!r}" if dataset is not None else "the default dataset"
        return f"unknown file {source!r}: {where} has no file of that name (status lists its files)"
    return None


def already_removed(history: VersionHistory, source: str) -> Version | None:
    """The ``removed`` entry of ``source`` when its latest version is one and no ids are left to delete."""
    versions = history.versions(source)
    if versions and versions[-1].outcome == "removed" and not history.has_ids(source):
        return versions[-1]
    return None
