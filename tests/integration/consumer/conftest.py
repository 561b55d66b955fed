"""Helpers for consumer integration tests: put messages into Kafka directly, run the consumer, read back.

Messages are produced with confluent-kafka here (key = id, value = JSON bytes), not with the producer
package, so these tests exercise only the consumer and the wire format.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from consumer.service import run
from schemas.settings import Settings, StackSettings
from spoolbridge.stack.services import OpenSearchNode
from tests.conftest import Endpoints, create_topic
from tests.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parents[3]

Record = tuple[str, bytes | None]


def make_records(n: int, *, prefix: str = "doc") -> list[Record]:
    """``n`` (id, JSON value) pairs with some variety: nested object, list, unicode, a quote in the id."""
    records: list[Record] = []
    for i in range(n):
        doc = {
            "name": f"game {i} \u2013 \u00fcn\u00efcode \U0001f3ae",
            "appid": i,
            "price": round(i * 0.37, 2),
            "tags": {"Action": i % 7, "Indie": i % 3},
            "genres": ["a", "b"][: i % 3],
            "source": "steam/games.json",
        }
        records.append((f'{prefix}:{i}"q\\', orjson.dumps(doc)))
    return records


def produce(settings: Settings, records: Iterable[Record], *, partitions: int | None = None) -> int:
    """Create the topic (if ``partitions`` is given) and produce ``records`` keyed by id; wait for acks."""
    if partitions is not None:
        from confluent_kafka.admin import AdminClient

        create_topic(AdminClient(dict(settings.kafka.client_config())), settings.kafka.topic, partitions)
    producer = Producer({**settings.kafka.client_config(), "linger.ms": 20, "enable.idempotence": True})
    count = 0
    for key, value in records:
        while True:
            try:
                producer.produce(settings.kafka.topic, key=key.encode(), value=value)
                break
            except BufferError:
                producer.poll(0.1)
        count += 1
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} test messages were not acknowledged"
    return count


def read_topic(settings: Settings, topic: str, *, expect: int, timeout_secs: float = 30.0) -> list[Any]:
    """Read ``expect`` messages of ``topic`` from the beginning (a throwaway group); fail if fewer come."""
    consumer = Consumer(
        {
            **settings.kafka.client_config(),
            "group.id": f"reader-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    found: list[Any] = []
    deadline = time.monotonic() + timeout_secs
    try:
        while len(found) < expect and time.monotonic() < deadline:
            for message in consumer.consume(500, 0.5):
                if message.error() is None:
                    found.append(message)
    finally:
        consumer.close()
    return found


def committed_offsets(settings: Settings, partitions: int) -> list[int]:
    from confluent_kafka import TopicPartition

    consumer = Consumer({**settings.kafka.client_config(), "group.id": settings.consumer.group})
    try:
        tps = [TopicPartition(settings.kafka.topic, p) for p in range(partitions)]
        return [tp.offset for tp in consumer.committed(tps, timeout=10)]
    finally:
        consumer.close()


def end_offsets(settings: Settings, partitions: int) -> list[int]:
    """The end offset of each partition of ``settings.kafka.topic``."""
    from confluent_kafka import TopicPartition

    consumer = Consumer({**settings.kafka.client_config(), "group.id": "watermarks"})
    try:
        return [
            consumer.get_watermark_offsets(TopicPartition(settings.kafka.topic, p), timeout=10)[1]
            for p in range(partitions)
        ]
    finally:
        consumer.close()


def index_ids(client: Any, index: str) -> dict[str, Any]:
    """Every document of ``index`` as {id: _source} (refreshes first)."""
    client.indices.refresh(index=index)
    docs: dict[str, Any] = {}
    response = client.search(index=index, body={"query": {"match_all": {}}, "size": 5000}, scroll="1m")
    while response["hits"]["hits"]:
        for hit in response["hits"]["hits"]:
            docs[hit["_id"]] = hit["_source"]
        response = client.scroll(scroll_id=response["_scroll_id"], scroll="1m")
    from opensearchpy.exceptions import AuthorizationException

    # a right on the cluster the stack's least-privilege user lacks; its scroll then expires in a minute
    with contextlib.suppress(AuthorizationException):
        client.clear_scroll(scroll_id=response["_scroll_id"])
    return docs


def topic_size(settings: Settings, topic: str) -> int:
    """Messages ever written to ``topic`` (sum of its partitions' end offsets; 0 if it does not exist)."""
    from confluent_kafka import TopicPartition

    consumer = Consumer({**settings.kafka.client_config(), "group.id": f"sizer-{time.monotonic_ns()}"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        ends = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        ]
        return sum(ends)
    finally:
        consumer.close()


def doc_count(client: Any, index: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


@dataclass
class ThreadRun:
    thread: threading.Thread
    result: list[int]

    def wait(self, timeout: float) -> int:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "consumer did not go idle in time"
        return self.result[0]


@pytest.fixture
def consume_in_thread() -> Callable[..., ThreadRun]:
    """Run :func:`consumer.service.run` in a thread with ``until_idle_secs``; ``.wait()`` returns its code."""

    def start(settings: Settings, *, until_idle_secs: float = 2.0) -> ThreadRun:
        result: list[int] = []
        thread = threading.Thread(
            target=lambda: result.append(run(settings, until_idle_secs=until_idle_secs)), daemon=True
        )
        thread.start()
        return ThreadRun(thread, result)

    return start


def settings_env(endpoints: Endpoints, settings: Settings) -> dict[str, str]:
    """Environment that makes ``python -m consumer`` use ``settings`` (the parts tests vary)."""
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=settings.kafka.bootstrap_servers or "",
        SPOOLBRIDGE_KAFKA__TOPIC=settings.kafka.topic,
        SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS="0",
        PYTHONPATH=str(REPO_ROOT),
    )
    for name, value in settings.consumer.model_dump(exclude_none=True).items():
        env[f"SPOOLBRIDGE_CONSUMER__{name.upper()}"] = str(value)
    if settings.opensearch.url is not None:
        env["SPOOLBRIDGE_OPENSEARCH__URL"] = settings.opensearch.url.get_secret_value()
    return env


@pytest.fixture
def consumer_process(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``python -m consumer`` subprocesses (log in tmp_path); any left running are killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str], *, until_idle_secs: float | None = None, name: str = "c") -> Any:
        args = [sys.executable, "-m", "consumer"]
        if until_idle_secs is not None:
            args += ["--until-idle", str(until_idle_secs)]
        log_path = tmp_path / f"{name}-{len(started)}.log"
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)
        proc.log_path = log_path  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def exit_code(proc: subprocess.Popen[bytes], timeout_secs: float) -> int:
    """The consumer process's exit code once it ends; a timeout fails the test with its log's last lines
    (an ``--until-idle`` run that never ends says why only there)."""
    try:
        return proc.wait(timeout_secs)
    except subprocess.TimeoutExpired:
        log_path: Path = proc.log_path  # type: ignore[attr-defined]
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        pytest.fail(f"the consumer did not exit within {timeout_secs:g} s; its log ends:\n{tail}")


@pytest.fixture
def private_node(tmp_path: Path) -> Iterator[OpenSearchNode]:
    """A single-node OpenSearch of this test's own (for tests that stop it or change cluster settings);
    stopped by its pid at the end. Plain HTTP, no users (``stack.opensearch_security=false``): the tests
    that use it are the suite's runs of the consumer against a plain node."""
    http_port, transport_port = free_ports(9250, 2, stride=100)
    node = OpenSearchNode(
        StackSettings(
            dir=tmp_path / "stack",
            opensearch_port=http_port,
            opensearch_transport_port=transport_port,
            opensearch_security=False,
        )
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


def wait_for(condition: Callable[[], bool], timeout_secs: float, what: str) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_secs}s waiting for {what}")


def live_count(client: Any, index: str) -> int:
    """Document count without failing when the index does not exist yet."""
    try:
        return doc_count(client, index)
    except Exception:  # the index may not exist yet
        return 0


__all__ = [
    "ThreadRun",
    "committed_offsets",
    "doc_count",
    "end_offsets",
    "index_ids",
    "live_count",
    "make_records",
    "os",
    "produce",
    "read_topic",
    "settings_env",
    "topic_size",
    "wait_for",
]
