"""The test services are real: 1,000 messages through Kafka (plaintext, mutual TLS, and SASL/SCRAM over
TLS as Aiven offers it), 1,000 documents through OpenSearch's bulk API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.conftest import Endpoints, create_topic

pytestmark = pytest.mark.integration

N = 1000


def _round_trip(conf: dict[str, Any], topic: str, group: str) -> list[bytes]:
    producer = Producer({**conf, "enable.idempotence": True, "acks": "all"})
    for i in range(N):
        producer.produce(topic, key=str(i).encode(), value=b'{"n":%d}' % i)
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    keys: list[bytes] = []
    try:
        for _ in range(60):
            for msg in consumer.consume(num_messages=500, timeout=1.0):
                assert msg.error() is None, msg.error()
                key = msg.key()
                assert key is not None
                keys.append(key)
            if len(keys) >= N:
                break
    finally:
        consumer.close()
    return keys


def _tls_conf(endpoints: Endpoints, *, with_client_cert: bool) -> dict[str, Any]:
    if endpoints.tls is None or endpoints.ssl_bootstrap_servers is None:
        pytest.fail(
            "no TLS listener known: set SPOOLBRIDGE_TEST_SSL_BOOTSTRAP_SERVERS and SPOOLBRIDGE_TEST_TLS_DIR"
        )
    conf: dict[str, Any] = {
        "bootstrap.servers": endpoints.ssl_bootstrap_servers,
        "security.protocol": "SSL",
        "ssl.ca.location": str(endpoints.tls.ca),
    }
    if with_client_cert:
        conf["ssl.certificate.location"] = str(endpoints.tls.client_cert)
        conf["ssl.key.location"] = str(endpoints.tls.client_key)
    return conf


def test_thousand_messages_round_trip_over_plaintext(
    endpoints: Endpoints, kafka_admin: Any, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("smoke")
    create_topic(kafka_admin, topic, partitions=2)
    keys = _round_trip({"bootstrap.servers": endpoints.bootstrap_servers}, topic, unique_name("g"))
    assert sorted(keys, key=int) == [str(i).encode() for i in range(N)]


def test_thousand_messages_round_trip_over_tls_with_client_certificate(
    endpoints: Endpoints, kafka_admin: Any, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("smoke-tls")
    create_topic(kafka_admin, topic)
    keys = _round_trip(_tls_conf(endpoints, with_client_cert=True), topic, unique_name("g"))
    assert sorted(keys, key=int) == [str(i).encode() for i in range(N)]


def test_tls_listener_refuses_a_client_without_certificate(endpoints: Endpoints) -> None:
    admin = AdminClient({**_tls_conf(endpoints, with_client_cert=False), "log_level": 0})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=3)


def test_thousand_messages_round_trip_over_sasl_ssl_with_scram(
    endpoints: Endpoints, kafka_admin: Any, unique_name: Callable[[str], str]
) -> None:
    sasl = endpoints.require_sasl()
    topic = unique_name("smoke-sasl")
    create_topic(kafka_admin, topic)
    keys = _round_trip(sasl.client_config(), topic, unique_name("g"))
    assert sorted(keys, key=int) == [str(i).encode() for i in range(N)]


def _sasl_login_errors(conf: dict[str, Any]) -> list[str]:
    """The error texts of a metadata request with ``conf``; [] when it succeeds."""
    errors: list[str] = []
    quiet: dict[str, Any] = {**conf, "log_level": 0, "error_cb": lambda e: errors.append(e.str())}
    admin = AdminClient(quiet)
    try:
        admin.list_topics(timeout=5)
    except KafkaException:
        admin.poll(1.0)  # serves error_cb
        return errors or ["no error text"]
    return []


def test_sasl_listener_refuses_a_wrong_password_and_an_unknown_user(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    sasl = endpoints.require_sasl()
    assert _sasl_login_errors(sasl.client_config()) == []
    for conf in (
        sasl.client_config(password=sasl.password() + "x"),
        sasl.client_config(username=unique_name("nobody")),
    ):
        errors = _sasl_login_errors(conf)
        assert any("Authentication failed" in text for text in errors), errors


def test_thousand_documents_bulk_indexed_and_counted(
    opensearch_client: Any, unique_name: Callable[[str], str]
) -> None:
    from opensearchpy import helpers

    index = unique_name("smoke")
    opensearch_client.indices.create(index=index, body={"settings": {"number_of_replicas": 0}})
    ok, errors = helpers.bulk(
        opensearch_client, ({"_index": index, "_id": str(i), "n": i} for i in range(N)), raise_on_error=False
    )
    assert (ok, errors) == (N, [])
    opensearch_client.indices.refresh(index=index)
    assert opensearch_client.count(index=index)["count"] == N
    opensearch_client.indices.delete(index=index)
