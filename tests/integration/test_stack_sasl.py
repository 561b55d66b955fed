"""A stack whose storage was formatted before it had a SASL listener gets its user when it next starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas.settings import StackSettings
from spoolbridge.stack.services import KafkaBroker
from tests.ports import free_ports

pytestmark = pytest.mark.integration


def _logs_in(broker: KafkaBroker, password: str) -> bool:
    conf: dict[str, Any] = {
        "bootstrap.servers": broker.sasl_bootstrap_servers,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": broker.sasl.mechanism,
        "sasl.username": broker.sasl.username,
        "sasl.password": password,
        "ssl.ca.location": str(broker.tls.ca),
        "log_level": 0,
    }
    try:
        return bool(AdminClient(conf).list_topics(timeout=5).brokers)
    except KafkaException:
        return False


@pytest.mark.timeout(300)
def test_a_stack_formatted_without_the_sasl_user_gets_one_on_its_next_start(tmp_path: Path) -> None:
    kafka_port, controller_port, ssl_port, sasl_port = free_ports(19700, 4)
    broker = KafkaBroker(
        StackSettings(
            dir=tmp_path / "stack",
            kafka_port=kafka_port,
            kafka_controller_port=controller_port,
            kafka_ssl_port=ssl_port,
            kafka_sasl_port=sasl_port,
            kafka_heap_mb=256,
        )
    )
    try:
        broker.start()
        formatted_with = broker.sasl.password()
        assert _logs_in(broker, formatted_with)
        broker.stop()
        broker.sasl.password_file.unlink()  # as a stack formatted by a version without the SASL listener

        broker.start()
        assert broker.sasl.password_file.stat().st_mode & 0o777 == 0o600
        assert _logs_in(broker, broker.sasl.password())
        assert not _logs_in(broker, formatted_with)
    finally:
        broker.stop()
