"""The per-file ledger: done/ + manifest, failed/ + error report + rejected records."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from producer.inbox.ledger import FileFailure, FileLedger, Manifest, read_report


def ledger_for(inbox: Path) -> FileLedger:
    return FileLedger(inbox, inbox / "done", inbox / "failed")


def manifest(source: str, records: int = 2) -> Manifest:
    return Manifest(
        source=source,
        topic="t",
        records=records,
        bytes=20,
        sha256="ab" * 32,
        first_id=f"{source}:0",
        last_id=f"{source}:1",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        duration_secs=1.0,
        records_per_s=2.0,
    )


def test_success_moves_the_file_to_done_keeping_its_relative_path_with_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    source = tmp_path / "sub" / "a.json"
    source.write_text("[]")
    moved = ledger_for(tmp_path).succeed(source, manifest("sub/a.json"))
    assert moved == tmp_path / "done" / "sub" / "a.json"
    assert moved.read_text() == "[]"
    assert not source.exists()
    report = orjson.loads((tmp_path / "done" / "sub" / "a.json.manifest.json").read_bytes())
    assert report["records"] == 2
    assert report["sha256"] == "ab" * 32
    assert report["first_id"] == "sub/a.json:0"
    assert report["last_id"] == "sub/a.json:1"
    assert not list((tmp_path / "done" / "sub").glob(".*"))  # no temporary files left


def test_a_file_dropped_again_replaces_the_earlier_one_in_done(tmp_path: Path) -> None:
    ledger = ledger_for(tmp_path)
    for content in ("[1]", "[2]"):
        (tmp_path / "a.json").write_text(content)
        ledger.succeed(tmp_path / "a.json", manifest("a.json"))
    assert (tmp_path / "done" / "a.json").read_text() == "[2]"


def test_failure_writes_error_and_rejected_reports_and_moves_the_file(tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text('[{"a": 1}, 2]')
    ledger = ledger_for(tmp_path)
    rejected = ledger.rejected_writer("bad.json")
    rejected.add("1", "bad.json:1", "record is a number, not an object", 2)
    failure = FileFailure(
        source="bad.json",
        what="1 record could not be produced",
        what_to_do="fix the records listed in bad.json.rejected.jsonl and drop the file again",
        where={"unit": "record", "position": "1"},
        records_produced=1,
        records_rejected=1,
    )
    moved = ledger.fail(source, failure, rejected)
    assert moved == tmp_path / "failed" / "bad.json"
    error = orjson.loads((tmp_path / "failed" / "bad.json.error.json").read_bytes())
    assert error["what"] == "1 record could not be produced"
    assert error["where"] == {"unit": "record", "position": "1"}
    assert error["rejected_file"] == "bad.json.rejected.jsonl"
    lines = (tmp_path / "failed" / "bad.json.rejected.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"position": "1", "id": "bad.json:1", "reason": "record is a number, not an object", "record": 2}
    ]
    assert not list((tmp_path / "failed").glob(".*"))


def test_failure_without_rejections_writes_no_rejected_file_and_removes_a_stale_one(tmp_path: Path) -> None:
    ledger = ledger_for(tmp_path)
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "t.json.rejected.jsonl").write_text("old\n")
    (tmp_path / "t.json").write_text("[")
    failure = FileFailure(source="t.json", what="truncated JSON", what_to_do="drop it again")
    ledger.fail(tmp_path / "t.json", failure, ledger.rejected_writer("t.json"))
    assert not (tmp_path / "failed" / "t.json.rejected.jsonl").exists()
    assert "rejected_file" not in orjson.loads((tmp_path / "failed" / "t.json.error.json").read_bytes())


def test_rejected_records_that_are_not_json_safe_are_still_reported(tmp_path: Path) -> None:
    writer = ledger_for(tmp_path).rejected_writer("x.json")
    writer.add("0", None, "too big", {"n": 10**30, "b": b"\xff"})
    final = writer.commit(tmp_path / "out.jsonl")
    assert final is not None
    assert json.loads(final.read_bytes())["record"] == {"n": 10**30, "b": "\ufffd"}


def test_success_clears_the_failure_report_of_an_earlier_drop(tmp_path: Path) -> None:
    ledger = ledger_for(tmp_path)
    (tmp_path / "a.json").write_text("[")
    failure = FileFailure(source="a.json", what="truncated JSON", what_to_do="drop it again")
    rejected = ledger.rejected_writer("a.json")
    rejected.add("0", None, "bad", 1)
    ledger.fail(tmp_path / "a.json", failure, rejected)
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == [
        "a.json",
        "a.json.error.json",
        "a.json.rejected.jsonl",
    ]
    (tmp_path / "a.json").write_text("[]")
    ledger.succeed(tmp_path / "a.json", manifest("a.json"))
    assert list((tmp_path / "failed").iterdir()) == []
    assert (tmp_path / "done" / "a.json").read_text() == "[]"


def test_a_report_reads_back_as_status_and_the_page_show_it(tmp_path: Path) -> None:
    done = tmp_path / "a.json.manifest.json"
    done.write_text('{"source": "games/a.json", "records": 5, "rejected": 2, "bytes": 99}')
    failed = tmp_path / "b.json.error.json"
    failed.write_text(
        '{"source": "b.json", "what": "cut short", "what_to_do": "send it again", "records_produced": 3,'
        ' "records_rejected": 1, "rejected_file": "b.json.rejected.jsonl"}'
    )
    (tmp_path / "c.json.error.json").write_text("{not json")
    a, b = read_report(done), read_report(failed)
    assert a is not None and (a.state, a.produced, a.rejected, a.read, a.bytes) == ("done", 5, 2, 7, 99)
    assert b is not None and (b.state, b.read, b.reason, b.what_to_do) == (
        "failed",
        4,
        "cut short",
        "send it again",
    )
    assert b.has_rejected_file and not a.has_rejected_file
    assert read_report(tmp_path / "c.json.error.json") is None
    assert read_report(tmp_path / "missing.manifest.json") is None


def test_both_reports_keep_the_offsets_of_the_versions_messages_and_old_ones_have_none(
    tmp_path: Path,
) -> None:
    ledger = ledger_for(tmp_path)
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "b.json").write_text("[")
    done = manifest("a.json")
    done.offsets = {"0": [10, 11], "2": [7, 7]}
    ledger.succeed(tmp_path / "a.json", done)
    ledger.fail(tmp_path / "b.json", FileFailure("b.json", "cut short", "fix it", offsets={"1": [3, 4]}))
    a = read_report(tmp_path / "done" / "a.json.manifest.json")
    b = read_report(tmp_path / "failed" / "b.json.error.json")
    assert a is not None and a.offsets == {0: (10, 11), 2: (7, 7)}
    assert b is not None and b.offsets == {1: (3, 4)}
    (tmp_path / "old.json.manifest.json").write_text('{"source": "old.json", "records": 5}')
    old = read_report(tmp_path / "old.json.manifest.json")
    assert old is not None and old.offsets is None  # written before offsets were recorded
