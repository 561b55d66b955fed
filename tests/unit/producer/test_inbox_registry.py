"""One producer per folder tree (producer/inbox_registry.py): real lock files in a temporary registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.inbox.inbox_registry import NestedInboxError, ProducerRegistry


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    (tmp_path / "inbox" / "x").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    return tmp_path / "inbox"


def test_an_inbox_inside_or_around_a_held_one_is_refused_and_a_separate_one_is_not(
    inbox: Path, tmp_path: Path
) -> None:
    registry = tmp_path / "registry"
    with ProducerRegistry(inbox, registry):
        with pytest.raises(NestedInboxError, match=r"which contains .*inbox/x; run one producer per folder"):
            ProducerRegistry(inbox / "x", registry).acquire()
        with ProducerRegistry(tmp_path / "other", registry):
            pass
    inner = ProducerRegistry(inbox / "x", registry)  # released: the inner one may run now
    with inner, pytest.raises(NestedInboxError, match="which lies inside"):
        ProducerRegistry(inbox, registry).acquire()
    assert list(registry.iterdir()) == []  # entries are removed on release


def test_an_entry_nobody_holds_is_stale_and_removed(inbox: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    stale = registry / "0123.lock"  # left by a producer killed with SIGKILL: its lock died with it
    stale.write_text(str(inbox.resolve()))
    with ProducerRegistry(inbox / "x", registry):
        assert not stale.exists()
