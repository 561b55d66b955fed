"""The inbox boundary: which entries are opened, how, and how a change while reading is noticed."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from producer.inbox.boundary import (
    InputOpener,
    RefusedInputError,
    _require_regular,
    report_mode,
    uploads_folder,
)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def opener(inbox: Path, *, follow: bool = False) -> InputOpener:
    return InputOpener(inbox, (inbox / "done", inbox / "failed"), follow_symlinks=follow)


def test_a_regular_file_is_opened_and_read_through_the_checked_descriptor(inbox: Path) -> None:
    path = inbox / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with opener(inbox).open(path) as opened:
        assert opened.size_and_sha256()[0] == 9
        assert opened.read_path.name == "a.jsonl"  # the reader tells shapes by the name
        path.unlink()
        path.write_bytes(b'{"planted": true}\n')  # the name now names another file...
        assert opened.read_path.read_bytes() == b'{"a": 1}\n'  # ...but the checked one is read
        assert opened.changed() == "it was replaced by another file while it was read"


def test_a_file_written_while_open_is_reported_changed(inbox: Path) -> None:
    path = inbox / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with opener(inbox).open(path) as opened:
        assert opened.changed() is None
        with open(path, "ab") as out:
            out.write(b'{"a": 2}\n')
        assert opened.changed() == "it changed while it was read (its size or modification time differ)"


def test_a_file_removed_while_open_is_reported(inbox: Path) -> None:
    path = inbox / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with opener(inbox).open(path) as opened:
        path.unlink()
        assert opened.changed() == "it was moved or deleted while it was read"


def test_a_symlink_is_refused_by_default_even_to_a_file_inside_the_inbox(inbox: Path) -> None:
    (inbox / "real.json").write_bytes(b"{}")
    (inbox / "link.json").symlink_to(inbox / "real.json")
    with pytest.raises(RefusedInputError, match="symbolic link") as refused:
        opener(inbox).open(inbox / "link.json")
    assert "producer.follow_symlinks" in refused.value.hint


def test_following_symlinks_reads_targets_inside_the_inbox_only(inbox: Path, tmp_path: Path) -> None:
    (inbox / "sub").mkdir()
    (inbox / "sub" / "real.json").write_bytes(b'{"in": 1}')
    (inbox / "link.json").symlink_to("sub/real.json")
    with opener(inbox, follow=True).open(inbox / "link.json") as opened:
        assert opened.read_path.read_bytes() == b'{"in": 1}'
        assert opened.changed() is None

    (tmp_path / "outside.json").write_bytes(b'{"secret": 1}')
    (inbox / "out.json").symlink_to(tmp_path / "outside.json")
    with pytest.raises(RefusedInputError, match="outside the inbox"):
        opener(inbox, follow=True).open(inbox / "out.json")
    (inbox / "done").mkdir()
    (inbox / "done" / "old.json").write_bytes(b"{}")
    (inbox / "again.json").symlink_to(inbox / "done" / "old.json")
    with pytest.raises(RefusedInputError, match="outside the inbox"):
        opener(inbox, follow=True).open(inbox / "again.json")
    (inbox / "env.jsonl").symlink_to("/proc/self/environ")
    with pytest.raises(RefusedInputError, match="outside the inbox"):
        opener(inbox, follow=True).open(inbox / "env.jsonl")
    (inbox / "dangling.json").symlink_to(inbox / "nothing.json")
    with pytest.raises(RefusedInputError, match="does not exist"):
        opener(inbox, follow=True).open(inbox / "dangling.json")


def test_a_folder_link_on_the_path_is_refused(inbox: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.json").write_bytes(b'{"secret": 1}')
    (inbox / "sub").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(RefusedInputError, match="'sub' on its path is a symbolic link"):
        opener(inbox).open(inbox / "sub" / "x.json")


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_being_opened(inbox: Path) -> None:
    fifo = inbox / "pipe.jsonl"
    os.mkfifo(fifo)  # opening it for reading without a writer would block forever
    with pytest.raises(RefusedInputError, match="a FIFO"):
        opener(inbox).open(fifo)
    (inbox / "link.jsonl").symlink_to(fifo)
    with pytest.raises(RefusedInputError):
        opener(inbox, follow=True).open(inbox / "link.jsonl")


def test_a_socket_is_refused(inbox: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(inbox / "s.json"))
        with pytest.raises(RefusedInputError, match="a socket"):
            opener(inbox).open(inbox / "s.json")


def test_a_folder_or_a_missing_file_is_not_refused_but_not_a_file(inbox: Path) -> None:
    (inbox / "x.json").mkdir()
    with pytest.raises(IsADirectoryError):
        opener(inbox).open(inbox / "x.json")
    with pytest.raises(FileNotFoundError):
        opener(inbox).open(inbox / "gone.json")


def test_the_private_link_is_removed_when_closed(inbox: Path) -> None:
    path = inbox / "a.json"
    path.write_bytes(b"{}")
    opened = opener(inbox).open(path)
    read_path = opened.read_path
    opened.close()
    assert not os.path.lexists(read_path)
    assert path.exists()


@pytest.mark.parametrize(
    ("source", "expected"),
    [(0o600, 0o600), (0o640, 0o640), (0o644, 0o644), (0o400, 0o600), (0o604, 0o604), (None, 0o600)],
)
def test_report_mode_is_never_wider_than_the_source_for_group_and_others(
    source: int | None, expected: int
) -> None:
    mode = report_mode(None if source is None else stat.S_IFREG | source)
    assert mode == expected


@pytest.mark.parametrize(("kind", "words"), [(stat.S_IFCHR, "a device"), (stat.S_IFBLK, "a device")])
def test_a_device_is_refused(kind: int, words: str) -> None:
    with pytest.raises(RefusedInputError, match=words):  # creating a device node needs privileges
        _require_regular(kind | 0o600, Path("dev.json"))


def test_a_hard_linked_file_is_refused_unless_its_other_name_is_an_upload_part(
    inbox: Path, tmp_path: Path
) -> None:
    parts = uploads_folder(inbox)
    parts.mkdir(parents=True)
    (parts / "abc.part").write_bytes(b"[]")
    os.link(parts / "abc.part", inbox / "uploaded.json")  # the page between its link and its unlink
    with opener(inbox).open(inbox / "uploaded.json") as opened:
        assert opened.size_and_sha256()[0] == 2

    (tmp_path / "outside.json").write_bytes(b"[]")
    os.link(tmp_path / "outside.json", inbox / "linked.json")
    os.link(tmp_path / "outside.json", parts / "planted.part")  # a part, but a third name is outside
    os.link(tmp_path / "outside.json", inbox / "also.json")
    (parts / "notes.txt").write_bytes(b"[]")
    os.link(parts / "notes.txt", inbox / "other.json")  # inside, but not a part: nothing says so
    for name, links in (("linked.json", 4), ("other.json", 2)):
        with pytest.raises(RefusedInputError, match=f"it has {links} hard links") as refused:
            opener(inbox).open(inbox / name)
        assert refused.value.hint == "copy the file into the inbox (cp, not ln), then delete this link"


def test_an_uploads_folder_that_is_a_link_vouches_for_nothing(inbox: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.part").write_bytes(b"[]")
    uploads_folder(inbox).parent.mkdir()
    uploads_folder(inbox).symlink_to(elsewhere, target_is_directory=True)
    os.link(elsewhere / "secret.part", inbox / "a.json")
    with pytest.raises(RefusedInputError, match="it has 2 hard links"):
        opener(inbox).open(inbox / "a.json")
