"""Invariant P for one file, without a broker: a Publisher stand-in decides each record's delivery outcome.

(Real-broker behaviour is covered in tests/integration/producer; these cover the outcomes a healthy local
broker cannot be made to produce on demand: transient delivery failures and broker-side rejections.)
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError

from producer.inbox.boundary import OpenedInput
from producer.inbox.ledger import FileLedger, FileReport, read_report
from producer.pipeline import FileProcessor
from producer.publish.publisher import DeliveryFailure, FileDeliveries, Publisher, is_record_error
from schemas.datasets import Datasets
from schemas.message import HEADER_POSITION, Headers
from schemas.settings import KafkaSettings, ProducerSettings, load_settings


class StandInPublisher(Publisher):
    """Records what is sent; ``fail`` maps a key to (error code) for its delivery outcome."""

    def __init__(self, settings: ProducerSettings, fail: dict[str, int] | None = None) -> None:
        super().__init__(KafkaSettings(topic="t"), settings)
        self.max_record_bytes = 10_000
        self.fail = fail or {}
        self.sent: list[tuple[str, bytes, Headers]] = []  # records, in order, of every file
        self.tombstones: list[str] = []
        self._this_file: list[tuple[str, bytes | None, Headers]] = []

    def begin_file(self) -> FileDeliveries:
        self._current = FileDeliveries()
        self._this_file = []
        return self._current

    def prepare(self, topic: str, dead_letter_topic: str) -> int:
        return self.max_record_bytes

    def send(self, topic: str, key: str, value: bytes | None, headers: Headers) -> None:
        if value is None:
            self.tombstones.append(key)
        else:
            self.sent.append((key, value, headers))
        self._this_file.append((key, value, headers))
        self._current.sent += 1

    def poll(self) -> None:
        pass

    def finish(self) -> FileDeliveries:
        for key, value, headers in self._this_file:
            if key in self.fail:
                err = KafkaError(self.fail[key])
                position = dict(headers)[HEADER_POSITION]
                assert isinstance(position, bytes)
                failure = DeliveryFailure(key, position.decode(), value, err.str(), is_record_error(err))
                self._current.failures.append(failure)
        self._current.acked = self._current.sent - len(self._current.failures)
        return self._current


def setup(
    tmp_path: Path, data: bytes, name: str = "f.jsonl", **options: Any
) -> tuple[Path, ProducerSettings]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / name
    path.write_bytes(data)
    return path, ProducerSettings(inbox=inbox, **options)


def processor(
    settings: ProducerSettings, publisher: Publisher, stop: threading.Event | None = None
) -> FileProcessor:
    ledger = FileLedger(settings.inbox, settings.done_path, settings.failed_path)
    datasets = Datasets(load_settings({"kafka": {"topic": "t"}, "producer": settings.model_dump()}))
    return FileProcessor(settings.inbox, datasets, publisher, ledger, stop)


LINES = b'{"a": 1}\n{"a": 2}\n{"a": 3}\n'


def test_every_record_acked_moves_the_file_to_done_with_a_manifest(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings)
    result = processor(settings, publisher).process(path)
    assert (result.outcome, result.records, result.rejected) == ("done", 3, 0)
    assert [k for k, _, _ in publisher.sent] == ["f.jsonl:1", "f.jsonl:2", "f.jsonl:3"]
    assert orjson.loads(publisher.sent[0][1]) == {"a": 1, "source": "f.jsonl"}
    manifest = orjson.loads((settings.done_path / "f.jsonl.manifest.json").read_bytes())
    assert (manifest["records"], manifest["first_id"], manifest["last_id"]) == (3, "f.jsonl:1", "f.jsonl:3")


def test_record_the_broker_refuses_is_rejected_with_its_position_and_the_file_fails(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    publisher = StandInPublisher(settings, fail={"f.jsonl:2": KafkaError.MSG_SIZE_TOO_LARGE})
    result = processor(settings, publisher).process(path)
    assert (result.outcome, result.records, result.rejected) == ("failed", 2, 1)
    [rejected] = [
        orjson.loads(x) for x in (settings.failed_path / "f.jsonl.rejected.jsonl").read_bytes().splitlines()
    ]
    assert rejected["position"] == "2"
    assert rejected["id"] == "f.jsonl:2"
    assert rejected["record"] == {"a": 2, "source": "f.jsonl"}
    assert "Kafka refused the record" in rejected["reason"]


@pytest.mark.parametrize(
    "code", [KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN]
)
def test_records_kafka_could_not_confirm_leave_the_file_in_the_inbox_for_a_retry(
    tmp_path: Path, code: int
) -> None:
    path, settings = setup(tmp_path, LINES)
    result = processor(settings, StandInPublisher(settings, fail={"f.jsonl:3": code})).process(path)
    assert result.outcome == "retry"
    assert path.exists()
    assert not settings.done_path.exists() or not any(settings.done_path.iterdir())
    assert not settings.failed_path.exists() or not any(settings.failed_path.glob("*"))


def test_stop_leaves_the_file_in_the_inbox(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, b"".join(b'{"n": %d}\n' % i for i in range(5000)))
    stop = threading.Event()
    stop.set()
    publisher = StandInPublisher(settings)
    result = processor(settings, publisher, stop).process(path)
    assert result.outcome == "interrupted"
    assert path.exists()
    assert 0 < len(publisher.sent) < 5000


@pytest.mark.parametrize(
    ("options", "data", "keys", "reasons"),
    [
        (
            {"id_field": "id"},
            b'{"id": "x"}\n{"v": 1}\n{"id": 5}\n',
            ["x", "5"],
            ["record has no id field 'id'"],
        ),
        (
            {"source_conflict": "reject"},
            b'{"source": "s"}\n{"a": 1}\n',
            ["f.jsonl:2"],
            ["already has the source field"],
        ),
        (
            {},
            b'{"a": 1}\n[1]\n"s"\n{bad\n',
            ["f.jsonl:1"],
            ["not a JSON object", "not a JSON object", "not valid JSON"],
        ),
        (
            {},
            b'{"a": "' + b"x" * 20_000 + b'"}\n{"b": 1}\n',
            ["f.jsonl:2"],
            ["the topic accepts at most 10000"],
        ),
    ],
)
def test_record_errors_are_rejected_with_a_reason_and_the_rest_is_produced(
    tmp_path: Path, options: dict[str, Any], data: bytes, keys: list[str], reasons: list[str]
) -> None:
    path, settings = setup(tmp_path, data, **options)
    publisher = StandInPublisher(settings)
    result = processor(settings, publisher).process(path)
    assert result.outcome == "failed"
    assert [k for k, _, _ in publisher.sent] == keys
    lines = (settings.failed_path / "f.jsonl.rejected.jsonl").read_bytes().splitlines()
    got = [orjson.loads(line)["reason"] for line in lines]
    assert len(got) == len(reasons)
    for reason, expected in zip(got, reasons, strict=True):
        assert expected in reason
    error = orjson.loads((settings.failed_path / "f.jsonl.error.json").read_bytes())
    assert error["where"] == {
        "unit": "line",
        "position": orjson.loads(lines[0])["position"],
        "first_of": len(reasons),
    }
    assert error["records_produced"] == len(keys)
    assert error["records_rejected"] == len(reasons)


def test_source_conflict_keep_leaves_the_records_own_value(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, b'{"source": "mine"}\n', source_conflict="keep")
    publisher = StandInPublisher(settings)
    assert processor(settings, publisher).process(path).outcome == "done"
    assert orjson.loads(publisher.sent[0][1]) == {"source": "mine"}


def test_file_gone_before_it_is_read_is_reported_as_gone(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    path.unlink()
    assert processor(settings, StandInPublisher(settings)).process(path).outcome == "gone"


# --- the inbox boundary, report permissions, files changing while read ------------------------------


def test_symlink_to_a_secret_goes_to_failed_unread_with_a_private_report(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_bytes(b'{"password": "MARKER-7f3a"}\n')
    _, settings = setup(tmp_path, LINES)
    link = settings.inbox / "env.jsonl"
    link.symlink_to(secret)
    publisher = StandInPublisher(settings)
    result = processor(settings, publisher).process(link)
    assert result.outcome == "failed"
    assert "symbolic link" in result.reason
    assert publisher.sent == []
    moved = settings.failed_path / "env.jsonl"
    assert moved.is_symlink()  # the link itself, never a copy of its target
    report = settings.failed_path / "env.jsonl.error.json"
    assert b"MARKER-7f3a" not in report.read_bytes()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert not (settings.failed_path / "env.jsonl.rejected.jsonl").exists()


@pytest.mark.timeout(10)
def test_fifo_goes_to_failed_without_blocking(tmp_path: Path) -> None:
    _, settings = setup(tmp_path, LINES)
    fifo = settings.inbox / "pipe.jsonl"
    os.mkfifo(fifo)
    result = processor(settings, StandInPublisher(settings)).process(fifo)
    assert result.outcome == "failed"
    assert "FIFO" in result.reason
    assert stat.S_ISFIFO((settings.failed_path / "pipe.jsonl").lstat().st_mode)


def test_a_file_named_like_a_report_is_refused_and_never_replaces_another_files_report(
    tmp_path: Path,
) -> None:
    good, settings = setup(tmp_path, LINES, name="x.jsonl")
    bad = settings.inbox / "y.jsonl"
    bad.write_bytes(b'{"a": 1}\n[1]\n')
    publisher = StandInPublisher(settings)
    run = processor(settings, publisher)
    assert run.process(good).outcome == "done"
    assert run.process(bad).outcome == "failed"
    manifest = (settings.done_path / "x.jsonl.manifest.json").read_bytes()
    error = (settings.failed_path / "y.jsonl.error.json").read_bytes()
    forgeries = {
        "x.jsonl.manifest.json": {"source": "x.jsonl", "records": 999, "rejected": 0},
        "y.jsonl.error.json": {"source": "y.jsonl", "what": "forged", "what_to_do": "call 555-0100"},
        "z.jsonl.REJECTED.JSONL": {"source": "z.jsonl"},
    }
    for name, forged in forgeries.items():
        (settings.inbox / name).write_bytes(orjson.dumps(forged))
        result = run.process(settings.inbox / name)
        assert result.outcome == "failed"
        assert "the ending of the reports spoolbridge writes" in result.reason
        kept = settings.failed_path / f"{name}.refused"
        assert orjson.loads(kept.read_bytes()) == forged, "the refused file is kept, under another name"
        report = orjson.loads((settings.failed_path / f"{name}.refused.error.json").read_bytes())
        assert report["source"] == name
        assert report["what_to_do"].startswith("rename it to ")
    assert [key for key, _, _ in publisher.sent] == [*(f"x.jsonl:{n}" for n in (1, 2, 3)), "y.jsonl:1"]
    assert (settings.done_path / "x.jsonl.manifest.json").read_bytes() == manifest
    assert (settings.failed_path / "y.jsonl.error.json").read_bytes() == error
    assert read_report(settings.done_path / "x.jsonl.manifest.json") == FileReport(
        "x.jsonl",
        "done",
        3,
        0,
        bytes=len(LINES),
        offsets={},  # this test's publisher gives no offsets
    )


def test_a_report_is_believed_only_beside_the_file_it_names(tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    (done / "a.json.manifest.json").write_bytes(orjson.dumps({"source": "b.json", "records": 9}))
    (done / "c.json.manifest.json").write_bytes(orjson.dumps({"source": "c.json", "records": 2}))
    (done / "d.json.manifest.json").symlink_to(done / "c.json.manifest.json")
    assert read_report(done / "a.json.manifest.json") is None, "it names another file"
    assert read_report(done / "d.json.manifest.json") is None, "a link is not a report"
    assert read_report(done / "c.json.manifest.json", "other/c.json") is None, "not the source asked for"
    assert read_report(done / "c.json.manifest.json", "c.json") == FileReport("c.json", "done", 2, 0)


def test_a_hard_linked_file_goes_to_failed_unread(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_bytes(b'[{"password": "MARKER-2c9e"}]')
    _, settings = setup(tmp_path, LINES)
    linked = settings.inbox / "h.json"
    os.link(outside, linked)
    publisher = StandInPublisher(settings)
    result = processor(settings, publisher).process(linked)
    assert result.outcome == "failed"
    assert "it has 2 hard links" in result.reason
    assert publisher.sent == []
    report = (settings.failed_path / "h.json.error.json").read_bytes()
    assert b"MARKER-2c9e" not in report
    assert "copy the file into the inbox (cp, not ln)" in orjson.loads(report)["what_to_do"]
    assert outside.read_bytes() == b'[{"password": "MARKER-2c9e"}]'


def test_reports_are_no_wider_than_the_source_whatever_the_umask(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, b'{"a": 1}\n[1]\n')
    path.chmod(0o600)
    ok = settings.inbox / "ok.jsonl"
    ok.write_bytes(b'{"a": 1}\n')
    ok.chmod(0o640)
    old = os.umask(0o022)
    try:
        (settings.failed_path).mkdir(parents=True)
        planted = settings.failed_path / ".f.jsonl.error.json.part"
        planted.write_bytes(b"old")
        planted.chmod(0o666)  # a leftover with wide permissions is not reused
        run = processor(settings, StandInPublisher(settings))
        assert run.process(path).outcome == "failed"
        assert run.process(ok).outcome == "done"
    finally:
        os.umask(old)
    for name in ("f.jsonl.error.json", "f.jsonl.rejected.jsonl"):
        assert stat.S_IMODE((settings.failed_path / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((settings.done_path / "ok.jsonl.manifest.json").stat().st_mode) == 0o640


class AppendingPublisher(StandInPublisher):
    """Appends a line to the file being read when the first record is sent (a writer still at work)."""

    def __init__(self, settings: ProducerSettings, path: Path) -> None:
        super().__init__(settings)
        self.path = path

    def send(self, topic: str, key: str, value: bytes | None, headers: Headers) -> None:
        if not self.sent:
            with open(self.path, "ab") as out:
                out.write(b'{"a": 4}\n')
        super().send(topic, key, value, headers)


def test_file_changed_while_read_stays_in_the_inbox_and_is_read_again(tmp_path: Path) -> None:
    path, settings = setup(tmp_path, LINES)
    run = processor(settings, AppendingPublisher(settings, path))
    result = run.process(path)
    assert result.outcome == "changed"
    assert "changed while it was read" in result.reason
    assert path.exists()
    assert not settings.done_path.exists()
    assert not settings.failed_path.exists() or not any(settings.failed_path.rglob("*"))

    publisher = StandInPublisher(settings)
    again = processor(settings, publisher).process(path)  # settled now: read again, same ids
    assert again.outcome == "done"
    assert [k for k, _, _ in publisher.sent] == ["f.jsonl:1", "f.jsonl:2", "f.jsonl:3", "f.jsonl:4"]


def test_unreadable_file_is_warned_about_once_stays_and_is_read_once_readable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, settings = setup(tmp_path, LINES)
    run = processor(settings, StandInPublisher(settings))
    real_open = run.opener.open

    def denied(p: Path) -> OpenedInput:
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(run.opener, "open", denied)  # the tests may run as root, who reads anything
    with caplog.at_level(logging.DEBUG, logger="producer.pipeline"):
        first, second = run.process(path), run.process(path)
    assert (first.outcome, second.outcome) == ("unreadable", "unreadable")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "chmod a+r" in warnings[0].getMessage()
    assert "f.jsonl" in warnings[0].getMessage()
    assert path.exists()
    assert path in run.unreadable

    monkeypatch.setattr(run.opener, "open", real_open)
    with caplog.at_level(logging.INFO, logger="producer.pipeline"):
        assert run.process(path).outcome == "done"
    assert path not in run.unreadable
    assert any("event=readable_again" in r.getMessage() for r in caplog.records)
