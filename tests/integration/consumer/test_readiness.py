"""``/readyz`` of a real ``spoolbridge consume`` process turns 503 with a JSON reason while its OpenSearch is
frozen (a private node: SIGSTOP, then SIGCONT) and 200 again after; ``/healthz`` stays 200 meanwhile (the
loop runs on: restarting the consumer would not help)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from schemas.settings import Settings
from spoolbridge.stack.services import OpenSearchNode
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import doc_count, make_records, produce, wait_for
from tests.integration.endpoint_helpers import env_of, free_port, get, readyz, start_cli, stop

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_readyz_turns_503_while_opensearch_is_frozen_and_200_when_it_thaws(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    private_node: OpenSearchNode,
    tmp_path: Path,
) -> None:
    settings = settings_factory(opensearch={"url": private_node.url})
    produce(settings, make_records(50), partitions=3)
    port = free_port()
    consumer = start_cli(
        ["consume", "--metrics-port", str(port)], env_of(endpoints, settings), tmp_path / "c.log"
    )
    try:
        _freeze_and_thaw(private_node, settings, port)
        assert stop(consumer) == 0
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait(10)


def _freeze_and_thaw(private_node: OpenSearchNode, settings: Settings, port: int) -> None:
    wait_for(lambda: readyz(port)[0] == 200, 90, "/readyz 200")
    client: Any = OpenSearch(private_node.url, timeout=30)
    wait_for(lambda: doc_count(client, settings.index_name) == 50, 60, "the first documents indexed")

    pid = private_node.pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: readyz(port)[0] == 503, 30, "/readyz 503 while OpenSearch is frozen")
        status, body = readyz(port)
        assert status == 503 and body["status"] == "not ready"
        assert body["reason"] == f"OpenSearch at {private_node.url} did not answer within 2 s"
        assert body["checks"] == {"kafka": "ok", "opensearch": body["reason"]}
        health, _ = get(port, "/healthz")
        assert health == 200, "the consumer's loop runs on while OpenSearch is frozen"
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: readyz(port)[0] == 200, 60, "/readyz 200 after OpenSearch thawed")
    assert readyz(port)[1]["checks"] == {"kafka": "ok", "opensearch": "ok"}
    client.close()
