"""Producer integration helpers: run the producer (in-process or as a real process) and read the topic.

Uses the session fixtures of ``tests/conftest.py`` (``endpoints``, ``settings_factory``, ``unique_name``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from producer.service import run
from schemas.settings import Settings
from tests.conftest import Endpoints

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Received:
    key: str
    value: dict[str, Any]
    headers: dict[str, str]
    partition: int
    raw: bytes = b""  # the value as sent (``value`` is parsed with orjson, which rounds big integers)


def read_topic(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout_secs: float = 30.0
) -> list[Received]:
    """Every message of ``topic`` from the beginning: until ``expect`` messages arrived, else until idle."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"verify-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
    ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in partitions}
    consumer.assign(partitions)
    received: list[Received] = []
    deadline = time.monotonic() + timeout_secs
    try:
        while time.monotonic() < deadline:
            if expect is not None and len(received) >= expect:
                break
            if expect is None and len(received) >= sum(ends.values()):
                break
            for msg in consumer.consume(10_000, timeout=0.5):
                if msg.error():
                    continue
                received.append(_received(msg))
    finally:
        consumer.close()
    return received


def _received(msg: Message) -> Received:
    key, value, headers = msg.key(), msg.value(), msg.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return Received(
        key=key.decode() if isinstance(key, bytes) else str(key),
        value=orjson.loads(value) if value else {},
        headers={name: v.decode() if isinstance(v, bytes) else str(v) for name, v in pairs},
        partition=msg.partition() or 0,
        raw=value or b"",
    )


@pytest.fixture
def produce_settings(settings_factory: Callable[..., Settings], tmp_path: Path) -> Callable[..., Settings]:
    """Settings with a unique topic and an existing inbox; fast settling for tests."""

    def make(**producer: Any) -> Settings:
        inbox = tmp_path / "inbox"
        inbox.mkdir(exist_ok=True)
        return settings_factory(producer={"inbox": inbox, "settle_ms": 100, **producer})

    return make


@pytest.fixture
def run_once() -> Callable[[Settings], int]:
    return lambda settings: run(settings, once=True)


class ProducerProcess:
    """``python -m producer`` as a real process (watch mode), with its log captured to a file."""

    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        log_path: Path,
        *extra: str,
        env: dict[str, str] | None = None,
        prefix: tuple[str, ...] = (),
    ) -> None:
        """``env``: more environment variables; ``prefix``: a command to run the producer with (setpriv)."""
        environment = endpoints.env() | (env or {})
        environment["SPOOLBRIDGE_KAFKA__TOPIC"] = settings.kafka.topic
        environment["SPOOLBRIDGE_PRODUCER__SETTLE_MS"] = str(settings.producer.settle_ms)
        environment["PYTHONPATH"] = str(REPO)
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "producer", "--inbox", str(settings.producer.inbox), *extra],
            cwd=REPO,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout_secs: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_secs
        while text not in self.log():
            if self.proc.poll() is not None:
                raise AssertionError(f"producer exited ({self.proc.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the producer log:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self._log.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.stop(signal.SIGKILL)
        self._log.close()


@pytest.fixture
def producer_process(endpoints: Endpoints, tmp_path: Path) -> Iterator[Callable[..., ProducerProcess]]:
    started: list[ProducerProcess] = []

    def start(
        settings: Settings, *extra: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> ProducerProcess:
        log_path = tmp_path / f"producer-{len(started)}.log"
        process = ProducerProcess(settings, endpoints, log_path, *extra, env=env, prefix=prefix)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def topic_size(bootstrap: str, topic: str) -> int:
    """Messages in ``topic`` (sum of end offsets; 0 while it does not exist)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"size-{uuid.uuid4().hex[:8]}"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        partitions = [TopicPartition(topic, p) for p in metadata.partitions]
        return sum(consumer.get_watermark_offsets(p, timeout=10)[1] for p in partitions)
    except KafkaException:  # a topic created a moment ago may not have its leaders yet
        return 0
    finally:
        consumer.close()


def wait_until(condition: Callable[[], bool], timeout_secs: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_secs
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
