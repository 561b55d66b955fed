"""The producer's connection trouble, said once (producer/kafka_events.py), and librdkafka's log filtered."""

from __future__ import annotations

import json
import logging

import pytest
from confluent_kafka import KafkaError

from producer.publish.kafka_events import KafkaConnection, KafkaLog

REFUSED = (
    "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in state CONNECT)"
)


def _stats(*states: str) -> str:
    return json.dumps({"brokers": {f"127.0.0.1:9092/{i}": {"state": s} for i, s in enumerate(states)}})


def test_an_outage_is_one_warning_and_its_end_one_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="producer.publisher")
    connection = KafkaConnection("127.0.0.1:9092")
    connection.on_stats(_stats("UP"))
    for _ in range(50):  # librdkafka's reconnect attempts during the outage
        connection.on_error(KafkaError(KafkaError._TRANSPORT, REFUSED))
        connection.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
        connection.on_stats(_stats("CONNECT"))
    connection.on_stats(_stats("INIT", "UP"))
    connection.on_stats(_stats("UP"))
    loud = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG]
    assert [level for level, _ in loud] == ["WARNING", "INFO"], loud
    assert loud[0][1].startswith("event=kafka_unreachable bootstrap_servers=127.0.0.1:9092 error=")
    assert "Connection refused" in loud[0][1]
    assert loud[1][1].startswith("event=kafka_reachable bootstrap_servers=127.0.0.1:9092 broker=")
    assert connection.reachable


def test_a_second_outage_is_reported_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="producer.publisher")
    connection = KafkaConnection("k:1")
    for _ in range(2):
        connection.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
        connection.on_stats(_stats("UP"))
    levels = [r.levelname for r in caplog.records if r.levelno > logging.DEBUG]
    assert levels == ["WARNING", "INFO", "WARNING", "INFO"]


def test_other_errors_stay_warnings(caplog: pytest.LogCaptureFixture) -> None:
    KafkaConnection("k:1").on_error(KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out"))
    assert [r.levelname for r in caplog.records] == ["WARNING"]


@pytest.mark.parametrize(
    ("level", "facility", "text", "shown_as"),
    [
        (logging.WARNING, "GETPID",
         "Failed to acquire idempotence PID from broker 127.0.0.1:9092/1: Broker: Coordinator load in "
         "progress: retrying", logging.DEBUG),
        (logging.ERROR, "FAIL", REFUSED, logging.DEBUG),
        (logging.INFO, "FAIL", "Disconnected: connection closed by peer", logging.DEBUG),
        (logging.WARNING, "GETPID", "Failed to acquire idempotence PID: Broker: Cluster authorization failed",
         logging.WARNING),
        (logging.ERROR, "SSL", "ssl.key.location failed", logging.ERROR),
        (logging.WARNING, "CONFWARN", "Configuration property x is deprecated", logging.WARNING),
    ],
)  # fmt: skip
def test_librdkafka_log_keeps_real_warnings_and_quiets_expected_noise(
    caplog: pytest.LogCaptureFixture, level: int, facility: str, text: str, shown_as: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="producer.kafka")
    KafkaLog(logging.getLogger("producer.kafka")).log(
        level, "%s [%s] %s", facility, "rdkafka#producer-1", text
    )
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (shown_as, f"{facility} [rdkafka#producer-1] {text}")
    ]
