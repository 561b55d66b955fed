"""The producer as a real process in watch mode: readiness, start-up scan, lock, and kill -9 recovery."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka.admin import AdminClient

from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.producer.conftest import ProducerProcess, read_topic, topic_size, wait_until

pytestmark = pytest.mark.integration

StartProducer = Callable[..., ProducerProcess]


def _lines(start: int, count: int) -> bytes:
    return b"".join(orjson.dumps({"n": i, "text": f"row {i}"}) + b"\n" for i in range(start, start + count))


@pytest.mark.timeout(90)
def test_slowly_written_file_is_read_only_after_it_is_complete(
    produce_settings: Callable[..., Settings], producer_process: StartProducer, endpoints: Endpoints
) -> None:
    settings = produce_settings(settle_ms=300)
    inbox = settings.producer.inbox
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    path = inbox / "slow.jsonl"
    with open(path, "wb") as out:  # one writer, kept open, with pauses longer than settle_ms
        for chunk in range(6):
            out.write(_lines(chunk * 10, 10))
            out.flush()
            time.sleep(0.6)
            assert path.exists(), "the file was taken while it was still being written"
            assert "file=slow.jsonl event=start" not in producer.log()
    wait_until((inbox / "done" / "slow.jsonl").exists, what="slow.jsonl in done/")
    manifest = orjson.loads((inbox / "done" / "slow.jsonl.manifest.json").read_bytes())
    assert manifest["records"] == 60
    assert len(read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=60)) == 60
    assert producer.stop() == 0


@pytest.mark.timeout(90)
def test_files_present_at_start_renamed_in_or_in_new_folders_are_all_picked_up(
    produce_settings: Callable[..., Settings], producer_process: StartProducer, tmp_path: Path
) -> None:
    settings = produce_settings()
    inbox = settings.producer.inbox
    (inbox / "before.json").write_bytes(b'[{"a": 1}]')
    producer = producer_process(settings)
    wait_until((inbox / "done" / "before.json").exists, what="before.json in done/")

    outside = tmp_path / "staging.json"
    outside.write_bytes(b'[{"b": 2}]')
    os.rename(outside, inbox / "renamed.json")
    (inbox / "writing.json.part").write_bytes(b'[{"c": 3}]')  # a temporary name: ignored...
    os.rename(inbox / "writing.json.part", inbox / "finished.json")  # ...until renamed
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "inner.jsonl").write_bytes(b'{"d": 4}\n')
    os.rename(folder, inbox / "batch")  # a whole folder moved in: its files have no events of their own

    for name in ("renamed.json", "finished.json", "batch/inner.jsonl"):
        wait_until((inbox / "done" / name).exists, what=f"{name} in done/")
    assert not (inbox / "done" / "writing.json.part").exists()
    assert producer.stop() == 0


@pytest.mark.timeout(90)
def test_deleted_file_and_directory_named_like_json_do_not_stop_the_producer(
    produce_settings: Callable[..., Settings], producer_process: StartProducer
) -> None:
    settings = produce_settings(settle_ms=1500)
    inbox = settings.producer.inbox
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    (inbox / "vanishing.json").write_bytes(b'[{"a": 1}]')
    time.sleep(0.3)
    (inbox / "vanishing.json").unlink()  # deleted while waiting to settle
    (inbox / "data" / "x.json").mkdir(parents=True)  # a directory with an input-like name
    (inbox / "data" / "x.json" / "real.json").write_bytes(b'[{"b": 2}]')
    (inbox / "after.json").write_bytes(b'[{"c": 3}]')

    wait_until((inbox / "done" / "after.json").exists, what="after.json in done/")
    done = inbox / "done" / "data" / "x.json" / "real.json"
    wait_until(done.exists, what="data/x.json/real.json in done/")
    assert not (inbox / "failed" / "vanishing.json").exists()
    assert (inbox / "data" / "x.json").is_dir()
    assert producer.proc.poll() is None
    assert producer.stop() == 0


@pytest.mark.timeout(60)
def test_second_producer_on_the_same_inbox_is_refused(
    produce_settings: Callable[..., Settings], producer_process: StartProducer
) -> None:
    settings = produce_settings()
    first = producer_process(settings)
    first.wait_for_log("event=watching")
    second = producer_process(settings)
    assert second.proc.wait(timeout=30) == 1
    assert "another producer is already watching" in second.log()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    third = producer_process(settings)  # the lock died with the killed process: no stale lock
    third.wait_for_log("event=watching")
    assert third.stop() == 0


def _with_inbox(settings: Settings, inbox: Path) -> Settings:
    inbox.mkdir(parents=True, exist_ok=True)
    return settings.model_copy(update={"producer": settings.producer.model_copy(update={"inbox": inbox})})


@pytest.mark.timeout(90)
def test_producer_on_an_inbox_inside_or_around_a_running_ones_is_refused(
    produce_settings: Callable[..., Settings], producer_process: StartProducer, tmp_path: Path
) -> None:
    registry = {"XDG_RUNTIME_DIR": str(tmp_path / "run")}  # this test's producers only
    outer = produce_settings()
    inner = _with_inbox(outer, outer.producer.inbox / "x")
    first = producer_process(outer, env=registry)
    first.wait_for_log("event=watching")
    refused = producer_process(inner, env=registry)
    assert refused.proc.wait(timeout=30) == 1
    lines = [line for line in refused.log().splitlines() if line.strip()]
    assert lines[-1] == (
        f"error: another producer is watching {outer.producer.inbox.resolve()}, which contains "
        f"{inner.producer.inbox.resolve()}; run one producer per folder tree "
        "(stop it, or use separate folders)"
    ), refused.log()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL  # its registry entry is left behind, unlocked

    second = producer_process(inner, env=registry)  # the stale entry does not refuse it
    second.wait_for_log("event=watching")
    around = producer_process(outer, env=registry)
    assert around.proc.wait(timeout=30) == 1
    assert "which lies inside" in around.log(), around.log()
    sibling = producer_process(_with_inbox(outer, tmp_path / "inbox-2"), env=registry)  # not nested: runs
    sibling.wait_for_log("event=watching")
    assert second.stop() == 0
    assert sibling.stop() == 0


@pytest.mark.timeout(120)
def test_kill_9_mid_file_then_restart_loses_no_record(
    produce_settings: Callable[..., Settings], producer_process: StartProducer, endpoints: Endpoints
) -> None:
    total = 300_000
    settings = produce_settings()
    inbox = settings.producer.inbox
    (inbox / "big.jsonl").write_bytes(_lines(0, total))
    producer = producer_process(settings)
    producer.wait_for_log("file=big.jsonl event=start")
    wait_until(
        lambda: topic_size(endpoints.bootstrap_servers, settings.kafka.topic) > 1000, what="first acks"
    )
    assert producer.stop(signal.SIGKILL) == -signal.SIGKILL  # some, but not all, records are in Kafka
    assert (inbox / "big.jsonl").exists(), "a file interrupted mid-way must stay in the inbox"
    assert not (inbox / "done" / "big.jsonl").exists()
    partial = len(read_topic(endpoints.bootstrap_servers, settings.kafka.topic, timeout_secs=10))
    assert 0 < partial < total, f"the kill should land mid-file (topic had {partial} of {total})"

    restarted = producer_process(settings, "--once")
    assert restarted.proc.wait(timeout=90) == 0, restarted.log()

    assert (inbox / "done" / "big.jsonl").exists()
    messages = read_topic(
        endpoints.bootstrap_servers, settings.kafka.topic, expect=partial + total, timeout_secs=60
    )
    keys = {m.key for m in messages}
    assert keys == {f"big.jsonl:{line}" for line in range(1, total + 1)}


@pytest.mark.timeout(120)
def test_sigterm_mid_file_leaves_it_in_the_inbox_and_the_next_run_completes_it(
    produce_settings: Callable[..., Settings], producer_process: StartProducer, endpoints: Endpoints
) -> None:
    total = 300_000
    settings = produce_settings()
    inbox = settings.producer.inbox
    (inbox / "big.jsonl").write_bytes(_lines(0, total))
    producer = producer_process(settings)
    wait_until(
        lambda: topic_size(endpoints.bootstrap_servers, settings.kafka.topic) > 1000, what="first acks"
    )
    assert producer.stop(signal.SIGTERM) == 0
    assert "outcome=interrupted" in producer.log()
    assert (inbox / "big.jsonl").exists()
    assert not (inbox / "failed").exists() or not any((inbox / "failed").iterdir())

    restarted = producer_process(settings, "--once")
    assert restarted.proc.wait(timeout=90) == 0, restarted.log()
    manifest = orjson.loads((inbox / "done" / "big.jsonl.manifest.json").read_bytes())
    assert manifest["records"] == total
    produced = topic_size(endpoints.bootstrap_servers, settings.kafka.topic)
    keys = {m.key for m in read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=produced)}
    assert keys == {f"big.jsonl:{line}" for line in range(1, total + 1)}


@pytest.mark.timeout(90)
def test_a_new_dataset_folder_gets_its_topics_before_its_first_file(
    produce_settings: Callable[..., Settings], producer_process: StartProducer, endpoints: Endpoints
) -> None:
    settings = produce_settings()
    inbox, topic = settings.producer.inbox, settings.kafka.topic
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    (inbox / "Not A Name").mkdir()  # cannot name a dataset: no topics, its first file will say why
    (inbox / "fresh").mkdir()  # empty: no file has been dropped in it yet
    admin = AdminClient({"bootstrap.servers": endpoints.bootstrap_servers})
    wanted = {f"{topic}.fresh", f"{topic}.fresh.dlq"}
    wait_until(lambda: wanted <= set(admin.list_topics(timeout=10).topics), what="the dataset's topics")
    assert not any(name.startswith(f"{topic}.Not") for name in admin.list_topics(timeout=10).topics)
    producer.wait_for_log("dataset_folder=Not A Name event=topics_not_made")
    assert not (inbox / "done").exists() or not any((inbox / "done").iterdir())
    assert producer.stop() == 0
