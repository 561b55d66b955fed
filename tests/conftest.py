"""Test harness: real Kafka and OpenSearch for integration and end-to-end tests.

Endpoints, in order of preference (bring-your-own-cluster, as confluent-kafka-python's fixtures do):

1. ``SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS`` and ``SPOOLBRIDGE_OPENSEARCH__URL`` when both are set;
2. a local stack already running in its per-user folder (``spoolbridge stack up``; ``stack.dir``), left
   running;
   ``SPOOLBRIDGE_STACK__*`` settings (ports, heaps) apply to it and to the next one;
3. otherwise a local stack started for this test session in a temporary folder and stopped after it.

Unit tests never ask for these fixtures, so they open no sockets. Names are unique per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import Settings, StackSettings, load_settings
from spoolbridge.stack.certs import TlsFiles
from spoolbridge.stack.manager import LocalStack


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    opensearch_url: str
    ssl_bootstrap_servers: str | None = None
    tls: TlsFiles | None = None
    stack: LocalStack | None = None

    def env(self) -> dict[str, str]:
        """Environment for a spoolbridge subprocess that should use these endpoints."""
        env = dict(os.environ)
        env["SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        env["SPOOLBRIDGE_OPENSEARCH__URL"] = self.opensearch_url
        return env


def _endpoints_of(stack: LocalStack) -> Endpoints:
    return Endpoints(
        bootstrap_servers=stack.kafka.bootstrap_servers,
        opensearch_url=stack.opensearch.url,
        ssl_bootstrap_servers=stack.kafka.ssl_bootstrap_servers,
        tls=stack.kafka.tls,
        stack=stack,
    )


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    bootstrap = os.environ.get("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    url = os.environ.get("SPOOLBRIDGE_OPENSEARCH__URL")
    if bootstrap and url:
        tls_dir = os.environ.get("SPOOLBRIDGE_TEST_TLS_DIR")
        yield Endpoints(
            bootstrap_servers=bootstrap,
            opensearch_url=url,
            ssl_bootstrap_servers=os.environ.get("SPOOLBRIDGE_TEST_SSL_BOOTSTRAP_SERVERS"),
            tls=TlsFiles(Path(tls_dir)) if tls_dir else None,
        )
        return
    configured: StackSettings = load_settings().stack  # SPOOLBRIDGE_STACK__* may move the ports
    developer_stack = LocalStack(configured)
    if developer_stack.running():
        yield _endpoints_of(developer_stack)
        return
    stack = LocalStack(configured.model_copy(update={"dir": tmp_path_factory.mktemp("stack")}))
    stack.up()
    try:
        yield _endpoints_of(stack)
    finally:
        stack.down()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("orders")`` → ``orders-<test name>-<8 hex>``, lower case (valid topic and index)."""
    test = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")

    def make(prefix: str) -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def settings_factory(
    endpoints: Endpoints, unique_name: Callable[[str], str], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings wired to the test endpoints with a unique topic, index, group and inbox.

    Keyword arguments are sections to override: ``settings_factory(consumer={"max_events": 10})``.
    """

    def make(**sections: dict[str, Any]) -> Settings:
        base: dict[str, dict[str, Any]] = {
            "kafka": {"bootstrap_servers": endpoints.bootstrap_servers, "topic": unique_name("t")},
            "opensearch": {"url": endpoints.opensearch_url, "number_of_replicas": 0},
            "consumer": {"group": unique_name("g")},
            "producer": {"inbox": tmp_path / "inbox"},
        }
        for section, values in sections.items():
            base.setdefault(section, {}).update(values)
        return load_settings(base)

    return make


@pytest.fixture
def opensearch_client(endpoints: Endpoints) -> Iterator[Any]:
    from opensearchpy import OpenSearch

    client = OpenSearch(endpoints.opensearch_url, timeout=60)
    yield client
    client.close()


@pytest.fixture
def kafka_admin(endpoints: Endpoints) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": endpoints.bootstrap_servers})


def create_topic(admin: Any, name: str, partitions: int = 1) -> None:
    """Create ``name`` and wait for it (the local stack, like Aiven, does not auto-create topics)."""
    from confluent_kafka.cimpl import NewTopic

    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    for future in futures.values():
        future.result(timeout=30)
