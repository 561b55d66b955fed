"""A full disk pauses the producer, never stops it: against the real Kafka, on a small tmpfs inbox
(:mod:`tests.tmpfs`: mounted and unmounted by the test; it fails, never skips, where that is not permitted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from schemas.settings import Settings
from tests.integration.producer.conftest import ProducerProcess, read_topic, wait_until
from tests.tmpfs import fill, mounted_tmpfs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

TMPFS_BYTES = 4 << 20
#: Room left on the inbox's disk while it is "full": enough for a small file's manifest and ids, far
#: too little for the rejected report of a file with thousands of bad lines.
ROOM_BYTES = 96 << 10


@pytest.fixture
def tmpfs_inbox(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/inbox`` as a tmpfs of ``TMPFS_BYTES``."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with mounted_tmpfs(inbox, TMPFS_BYTES):
        yield inbox


def _staged(path: Path, lines: list[bytes]) -> Path:
    """The file's bytes under a hidden name (the producer skips it); renaming it drops it, and a rename
    needs no space on a full disk."""
    temp = path.with_name(f".{path.name}.staged")
    temp.write_bytes(b"\n".join(lines) + b"\n")
    return temp


def _warnings(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if "WARNING" in line and text in line]


def test_a_report_that_does_not_fit_waits_for_space_while_other_files_are_read(
    produce_settings: Callable[..., Settings],
    producer_process: Callable[..., ProducerProcess],
    tmpfs_inbox: Path,
) -> None:
    settings = produce_settings(inbox=tmpfs_inbox)
    producer = producer_process(settings)
    producer.wait_for_log("event=watching", timeout_secs=60)
    bad_lines = [b'{"n": %d}' % i for i in range(100)]
    bad_lines += [b"not json, and long enough to make its rejected report big: " + b"x" * 120] * 3000
    big = _staged(tmpfs_inbox / "big-report.jsonl", bad_lines)
    small = _staged(tmpfs_inbox / "small.jsonl", [b'{"n": %d}' % i for i in range(50)])
    filler = fill(tmpfs_inbox, ROOM_BYTES)

    big.rename(tmpfs_inbox / "big-report.jsonl")
    producer.wait_for_log("outcome=no_space", timeout_secs=60)
    small.rename(tmpfs_inbox / "small.jsonl")

    done = tmpfs_inbox / "done"
    wait_until((done / "small.jsonl.manifest.json").is_file, 60, "the small file to be done")
    assert (tmpfs_inbox / "big-report.jsonl").is_file(), "the file whose report did not fit left the inbox"
    assert producer.proc.poll() is None, producer.log()
    [warning] = _warnings(producer.log(), "outcome=no_space")  # one, not one per attempt
    assert f"folder={tmpfs_inbox / 'failed'}" in warning
    needed = int(warning.split("bytes_needed=")[1].split()[0])
    assert needed > 0

    filler.unlink()  # space returns: the producer resumes by itself
    failed = tmpfs_inbox / "failed"
    wait_until((failed / "big-report.jsonl.error.json").is_file, 90, "the big file to settle")
    assert producer.proc.poll() is None, producer.log()
    rejected = (failed / "big-report.jsonl.rejected.jsonl").read_bytes().splitlines()
    assert len(rejected) == 3000
    report = orjson.loads((failed / "big-report.jsonl.error.json").read_bytes())
    assert (report["records_produced"], report["records_rejected"]) == (100, 3000)
    assert "event=disk_space_returned" in producer.log()
    assert not list(tmpfs_inbox.rglob(".*.part")), "a temporary report was left behind"
    keys = {m.key for m in read_topic(settings.kafka.bootstrap_servers or "", settings.kafka.topic)}
    assert len(keys) == 150  # every record of both files, each once (a retry sends the same ids again)
    assert producer.stop() == 0
