"""OpenSearch goes away mid-load and comes back: the consumer retries, stays up, commits nothing past
the gap, and ends with exactly one document per id.

Uses a private OpenSearch node (the ``private_node`` fixture: other ports, its own folder) so that stopping
it cannot disturb anything else; the shared node is never touched.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from opensearchpy import OpenSearch

from schemas.settings import Settings
from spoolbridge.stack.services import OpenSearchNode
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import (
    committed_offsets,
    exit_code,
    index_ids,
    live_count,
    make_records,
    produce,
    settings_env,
    wait_for,
)

pytestmark = pytest.mark.integration

N = 30_000
OUTAGE_SECS = 22


@pytest.mark.timeout(300)
def test_opensearch_down_for_twenty_seconds_mid_load_then_back_gives_exactly_n(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    consumer_process: Callable[..., subprocess.Popen[bytes]],
    private_node: OpenSearchNode,
) -> None:
    settings = settings_factory(
        opensearch={"url": private_node.url},
        consumer={
            "max_events": 200,
            "concurrent_requests": 1,
            "progress_interval_secs": 1.0,
            "retry_max_backoff_ms": 2000,
        },
    )
    client: Any = OpenSearch(private_node.url, timeout=30)
    records = make_records(N)
    produce(settings, records, partitions=3)
    consumer = consumer_process(settings_env(endpoints, settings), until_idle_secs=5, name="outage")

    wait_for(lambda: live_count(client, settings.index_name) >= N // 20, 90, "indexing to start")
    private_node.stop()
    stopped_at = time.monotonic()
    time.sleep(3)  # let the last in-flight answers settle and be committed
    committed_during = committed_offsets(settings, 3)
    while time.monotonic() - stopped_at < OUTAGE_SECS:
        assert consumer.poll() is None, "the consumer exited while OpenSearch was down"
        time.sleep(1)
    assert committed_offsets(settings, 3) == committed_during, "an offset was committed during the outage"
    assert sum(max(o, 0) for o in committed_during) < N, "the load finished before the outage"

    private_node.start()
    assert exit_code(consumer, 180) == 0

    log = consumer.log_path.read_text()  # type: ignore[attr-defined]
    assert "bulk retry scheduled" in log
    assert set(index_ids(client, settings.index_name)) == {key for key, _ in records}
    assert sum(committed_offsets(settings, 3)) == N
    client.close()
