"""Files that change under the producer, on the real Kafka and OpenSearch: the index ends holding exactly
the last version of the file (a full ``_id`` scroll), however the versions arrived.

- a new version renamed onto the path at random moments around the reader's close is never lost;
- a read replaced midway, stopped by SIGTERM or killed with SIGKILL leaves no stale document behind;
- fifty versions dropped a fraction of a second apart end as the last one.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from producer.service import run as produce
from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import index_ids
from tests.integration.producer.conftest import ProducerProcess, topic_size, wait_until
from tests.integration.test_datasets import ConsumerThread

pytestmark = pytest.mark.integration

StartProducer = Callable[..., ProducerProcess]


def version(number: int, lines: int) -> bytes:
    return b"".join(orjson.dumps({"version": number, "n": n}) + b"\n" for n in range(lines))


def replace_with(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` under a hidden name, then rename it onto ``path`` (atomic)."""
    temp = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
    temp.write_bytes(data)
    os.rename(temp, path)


def settled_as(settings: Settings, source: str, data: bytes) -> Callable[[], bool]:
    """True once ``data`` is what ``done/`` holds for ``source`` (and its manifest says), the inbox empty."""
    inbox = settings.producer.inbox
    done, manifest = inbox / "done" / source, inbox / "done" / f"{source}.manifest.json"
    sha256 = hashlib.sha256(data).hexdigest()

    def check() -> bool:
        try:
            return (
                not (inbox / source).exists()
                and orjson.loads(manifest.read_bytes())["sha256"] == sha256
                and done.read_bytes() == data
            )
        except (OSError, orjson.JSONDecodeError):
            return False

    return check


def assert_index_holds_exactly(settings: Settings, client: Any, source: str, data: bytes) -> None:
    assert ConsumerThread(settings, until_idle_secs=3.0).wait(150) == 0
    expected = {
        f"{source}:{n}": {"source": source, **orjson.loads(line)}
        for n, line in enumerate(data.splitlines(), 1)
    }
    documents = index_ids(client, settings.index_name)
    assert len(documents) == len(expected)
    assert documents == expected


def started_reads(producer: ProducerProcess, source: str) -> int:
    return producer.log().count(f"file={source} event=start ")


def read_started_after(producer: ProducerProcess, source: str, reads: int) -> Callable[[], bool]:
    return lambda: started_reads(producer, source) > reads


@pytest.mark.timeout(300)
def test_versions_renamed_onto_the_path_around_the_readers_close_are_never_lost(
    produce_settings: Callable[..., Settings],
    producer_process: StartProducer,
    opensearch_client: Any,
) -> None:
    trials, source = 50, "race.jsonl"
    settings = produce_settings(settle_ms=20)
    path = settings.producer.inbox / source
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data = b""
    for trial in range(trials):
        before = started_reads(producer, source)
        replace_with(path, version(2 * trial, rng.randint(1, 3000)))
        wait_until(read_started_after(producer, source, before), 30, f"trial {trial} read (seed {seed})")
        time.sleep(rng.uniform(0.0, 0.3))  # before, during or right after the reader's close and move
        data = version(2 * trial + 1, rng.randint(1, 6))
        replace_with(path, data)
        wait_until(settled_as(settings, source, data), 30, f"trial {trial}: the new version (seed {seed})")
    assert producer.stop() == 0
    assert "outcome=failed" not in producer.log()
    assert_index_holds_exactly(settings, opensearch_client, source, data)


BIG_LINES = 60_000


def _drop_big_file_and_wait_mid_read(settings: Settings, endpoints: Endpoints) -> Path:
    """A big first version, and the moment some but not all of its records reached Kafka."""
    path = settings.producer.inbox / "big.jsonl"
    replace_with(path, version(1, BIG_LINES))

    def in_topic() -> int:
        return topic_size(endpoints.bootstrap_servers, settings.kafka.topic)

    wait_until(lambda: in_topic() >= 2000, 60, "the first records in Kafka")
    assert in_topic() < BIG_LINES, "the read ended before it could be interrupted"
    return path


@pytest.mark.timeout(300)
def test_a_file_replaced_while_it_is_read_leaves_only_the_new_version(
    produce_settings: Callable[..., Settings],
    producer_process: StartProducer,
    endpoints: Endpoints,
    opensearch_client: Any,
) -> None:
    settings = produce_settings(settle_ms=50)
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    path = _drop_big_file_and_wait_mid_read(settings, endpoints)
    small = version(2, 5)
    replace_with(path, small)
    wait_until(settled_as(settings, "big.jsonl", small), 120, "the 5-line version settled")
    assert producer.stop() == 0
    assert "file=big.jsonl outcome=changed" in producer.log()
    assert_index_holds_exactly(settings, opensearch_client, "big.jsonl", small)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_producer_stopped_mid_file_then_a_small_version_leaves_only_the_small_version(
    produce_settings: Callable[..., Settings],
    producer_process: StartProducer,
    endpoints: Endpoints,
    opensearch_client: Any,
    sig: signal.Signals,
) -> None:
    settings = produce_settings(settle_ms=50)
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    path = _drop_big_file_and_wait_mid_read(settings, endpoints)
    producer.stop(sig)
    assert path.exists(), "the interrupted file must stay in the inbox"
    small = version(2, 5)
    replace_with(path, small)
    assert produce(settings, once=True) == 0
    assert settled_as(settings, "big.jsonl", small)()
    assert_index_holds_exactly(settings, opensearch_client, "big.jsonl", small)


@pytest.mark.timeout(400)
def test_fifty_versions_dropped_a_moment_apart_end_as_the_last_one(
    produce_settings: Callable[..., Settings],
    producer_process: StartProducer,
    opensearch_client: Any,
) -> None:
    settings = produce_settings(settle_ms=30)
    path = settings.producer.inbox / "rapid.jsonl"
    producer = producer_process(settings)
    producer.wait_for_log("event=watching")
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for number in range(1, 50):
        replace_with(path, version(number, rng.randint(1_000, 20_000)))
        time.sleep(rng.uniform(0.05, 0.5))
    last = version(50, 19_000)
    replace_with(path, last)
    wait_until(settled_as(settings, "rapid.jsonl", last), 180, f"the last version settled (seed {seed})")
    assert producer.stop() == 0
    assert_index_holds_exactly(settings, opensearch_client, "rapid.jsonl", last)
