"""``spoolbridge status --group connect-<name>`` measures the lag of Kafka Connect's consumer group.

Kafka Connect is stood in for by what it does to Kafka and OpenSearch: a plain consumer in the
connector's group reads the dataset's topic, indexes each message (id = key), and commits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from tests.conftest import Endpoints


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )


def _index_as_connect_would(bootstrap: str, group: str, topic: str, client: Any, expected: int) -> None:
    """Read ``expected`` messages in ``group``, index each under its key, then commit (as a sink does)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([topic])
        body: list[dict[str, Any]] = []  # action, document, action, document, ...
        while len(body) < 2 * expected:
            batch = consumer.consume(500, timeout=10)
            assert batch, f"{topic} had {len(body) // 2} of {expected} messages"
            for message in batch:
                assert message.error() is None, message.error()
                key, value = message.key(), message.value()
                assert key is not None and value is not None
                body += [{"index": {"_index": topic, "_id": key.decode()}}, json.loads(value)]
        assert not client.bulk(body=body, refresh=True)["errors"]
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


@pytest.mark.integration
@pytest.mark.timeout(150)
def test_status_wait_settles_on_the_connect_group_that_read_the_topic(
    endpoints: Endpoints, unique_name: Callable[[str], str], tmp_path: Path, opensearch_client: Any
) -> None:
    topic, connect_group = unique_name("connect"), unique_name("connect-x")
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__TOPIC=topic,
        SPOOLBRIDGE_KAFKA__PARTITIONS="1",
        SPOOLBRIDGE_CONSUMER__GROUP=unique_name("g"),  # spoolbridge's own consumer never runs
        SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS="0",
        SPOOLBRIDGE_PRODUCER__INBOX=str(tmp_path / "inbox"),
        SPOOLBRIDGE_PRODUCER__SETTLE_MS="0",
    )
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "games.json").write_text(json.dumps([{"n": i} for i in range(12)]))
    produced = _cli(env, "produce", "--once")
    assert produced.returncode == 0, produced.stderr

    _index_as_connect_would(endpoints.bootstrap_servers, connect_group, topic, opensearch_client, 12)

    settled = _cli(env, "status", "--group", connect_group, "--wait", "30", "--json")
    assert settled.returncode == 0, settled.stderr
    report = json.loads(settled.stdout)
    assert (report["group"], report["settled"]) == (connect_group, True)
    (dataset,) = report["datasets"]
    assert (dataset["indexed"], dataset["lag"]) == (12, 0)

    # The configured group (spoolbridge's consumer) read nothing: its lag is the whole topic.
    other = _cli(env, "status", "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["datasets"][0]["lag"] == 12
    assert json.loads(other.stdout)["settled"] is False
