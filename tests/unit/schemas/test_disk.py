"""Recognising a full disk, and the back-off between attempts (pure logic, no disk filled)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from schemas.disk import DiskBackoff, disk_full, is_disk_full


@pytest.mark.parametrize(
    ("exc", "full"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EACCES, "Permission denied"), False),
        (FileNotFoundError(errno.ENOENT, "No such file"), False),
        (ValueError("not an OSError"), False),
    ],
)
def test_only_no_space_and_no_quota_are_a_full_disk(exc: BaseException, full: bool) -> None:
    assert is_disk_full(exc) is full


def test_the_error_names_the_folder_of_the_file_and_the_bytes_needed(tmp_path: Path) -> None:
    error = disk_full(OSError(errno.ENOSPC, "No space", str(tmp_path / "a.json")), Path("/elsewhere"), 4096)
    assert error.folder == tmp_path
    assert error.needed == 4096
    assert error.free is not None
    assert f"{tmp_path} needs 4096 bytes" in str(error)


def test_without_a_file_name_the_fallback_folder_is_named(tmp_path: Path) -> None:
    error = disk_full(OSError(errno.ENOSPC, "No space"), tmp_path)
    assert error.folder == tmp_path
    assert "needs more space" in str(error)


def test_the_back_off_doubles_up_to_its_cap_and_starts_over_after_a_success() -> None:
    backoff = DiskBackoff(1.0, 5.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0
