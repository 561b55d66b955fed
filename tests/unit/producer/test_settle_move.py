"""The file that was read is the one that moves (producer/settle_move.py), whatever the path names now."""

from __future__ import annotations

import os
from pathlib import Path

from producer.inbox.settle_move import move_read_file


def opened(path: Path) -> int:
    return os.open(path, os.O_RDONLY)


def test_the_read_file_moves_and_the_path_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "inbox" / "a.json"
    path.parent.mkdir()
    path.write_bytes(b"old")
    fd = opened(path)
    try:
        assert move_read_file(path, fd, tmp_path / "done" / "a.json") is True
    finally:
        os.close(fd)
    assert (tmp_path / "done" / "a.json").read_bytes() == b"old"
    assert sorted(os.listdir(path.parent)) == []  # nothing left aside


def test_the_read_file_is_linked_not_copied(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"old")
    fd = opened(path)
    try:
        read = os.fstat(fd)
        assert move_read_file(path, fd, tmp_path / "done" / "a.json") is True
    finally:
        os.close(fd)
    moved = (tmp_path / "done" / "a.json").stat()
    assert (moved.st_dev, moved.st_ino, moved.st_nlink) == (read.st_dev, read.st_ino, 1)  # the same file


def test_a_version_renamed_onto_the_path_after_the_read_stays_in_the_inbox(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"old")
    fd = opened(path)
    (tmp_path / "new.tmp").write_bytes(b"new")
    os.rename(tmp_path / "new.tmp", path)  # between the reader's last check and the move
    try:
        assert move_read_file(path, fd, tmp_path / "done" / "a.json") is False
    finally:
        os.close(fd)
    assert (tmp_path / "done" / "a.json").read_bytes() == b"old"  # what was read, not what the path names
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "done"]


def test_the_read_file_is_copied_from_its_descriptor_when_it_cannot_be_linked(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"old")
    path.chmod(0o640)
    fd = opened(path)
    path.unlink()  # replaced and gone: no name left to link, only the open descriptor
    path.write_bytes(b"new")
    try:
        assert move_read_file(path, fd, tmp_path / "done" / "a.json") is False
    finally:
        os.close(fd)
    assert (tmp_path / "done" / "a.json").read_bytes() == b"old"
    assert (tmp_path / "done" / "a.json").stat().st_mode & 0o777 == 0o640
    assert path.read_bytes() == b"new"
