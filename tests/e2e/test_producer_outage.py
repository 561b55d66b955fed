"""Kafka goes away while the producer waits for files, and comes back: the producer says so when it
happens — one WARNING, one INFO — not with a burst of librdkafka lines at the next file.

Uses a private single-node Kafka (its own ports and folder, stopped by its pid); the shared broker is never
touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from schemas.settings import StackSettings
from spoolbridge.stack.services import KafkaBroker
from tests.ports import free_ports

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    kafka_port, controller_port, ssl_port, sasl_port = free_ports(19600, 4)
    node = KafkaBroker(
        StackSettings(
            dir=tmp_path / "stack",
            kafka_port=kafka_port,
            kafka_controller_port=controller_port,
            kafka_ssl_port=ssl_port,
            kafka_sasl_port=sasl_port,
            kafka_heap_mb=256,
        )
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


def _wait_for(condition: Callable[[], bool], timeout_secs: float, what: str) -> float:
    """Seconds it took for ``condition`` to hold; fails after ``timeout_secs``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_secs, f"timed out waiting for {what}"
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.mark.timeout(300)
def test_outage_is_logged_when_it_happens_once_and_its_end_too(
    broker: KafkaBroker, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    env.update(
        SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        SPOOLBRIDGE_OPENSEARCH__URL="http://127.0.0.1:9",  # the producer never needs it
        SPOOLBRIDGE_KAFKA__TOPIC=unique_name("outage"),
        SPOOLBRIDGE_KAFKA__PARTITIONS="1",
        SPOOLBRIDGE_PRODUCER__SETTLE_MS="0",
    )
    log_path = tmp_path / "producer.log"
    with log_path.open("wb") as log_file:
        producer = subprocess.Popen(
            [sys.executable, "-m", "spoolbridge.cli", "produce", "--inbox", str(inbox)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    log = log_path.read_text
    try:
        _wait_for(lambda: "event=producer_ready" in log(), 60, "the producer")
        (inbox / "first.json").write_text(json.dumps([{"n": i} for i in range(3)]))
        _wait_for((inbox / "done" / "first.json").exists, 60, "the first file")
        # a fresh broker answers the idempotent producer's first request with "coordinator load in
        # progress"; that is start-up noise, not a warning
        assert " WARNING " not in log() and " ERROR " not in log(), log()

        before = len(log().splitlines())
        broker.stop()
        took = _wait_for(lambda: "event=kafka_unreachable" in log(), 15, "the unreachable warning")
        assert took < 10, f"logged {took:.1f} s after the broker stopped"
        time.sleep(8)  # librdkafka keeps trying to reconnect meanwhile: several attempts a second
        during = log().splitlines()[before:]
        assert len(during) == 1, "\n".join(during)
        assert " WARNING producer.publisher event=kafka_unreachable " in during[0]
        assert broker.bootstrap_servers in during[0]

        broker.start()
        _wait_for(lambda: "event=kafka_reachable " in log(), 30, "the reachable-again line")
        after = log().splitlines()[before + 1 :]
        assert len(after) == 1 and " INFO producer.publisher event=kafka_reachable " in after[0], after

        (inbox / "second.json").write_text(json.dumps([{"n": i} for i in range(3)]))
        _wait_for((inbox / "done" / "second.json").exists, 60, "the second file")
    finally:
        producer.send_signal(signal.SIGTERM)
        code = producer.wait(timeout=60)
    assert code == 0, log()
    assert "Traceback" not in log()
