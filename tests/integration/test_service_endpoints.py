"""The service endpoints of real ``spoolbridge produce`` / ``consume`` processes on the real Kafka and
OpenSearch: ``/metrics`` scraped during a load agrees with the topics and the indices. (``/readyz`` while
OpenSearch is frozen: ``tests/integration/consumer/test_readiness.py``.)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.datasets import Datasets
from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import doc_count, topic_size, wait_for
from tests.integration.endpoint_helpers import (
    Samples,
    env_of,
    free_port,
    readyz,
    scrape,
    start_cli,
    stop,
    total,
    write_json,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``spoolbridge <args>`` processes (log in tmp_path); any still running are killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        started.append(start_cli(args, env, tmp_path / f"{args[0]}-{len(started)}.log"))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


COUNTERS = (
    "spoolbridge_producer_records_read_total",
    "spoolbridge_producer_records_produced_total",
    "spoolbridge_consumer_messages_fetched_total",
    "spoolbridge_consumer_documents_indexed_total",
)


@pytest.mark.timeout(300)
def test_metrics_scraped_during_a_load_agree_with_the_topics_and_the_indices(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    unique_name: Callable[[str], str],
    opensearch_client: Any,
    service: Callable[..., subprocess.Popen[bytes]],
) -> None:
    settings = settings_factory()
    games = unique_name("games")
    inbox = settings.producer.inbox
    inbox.mkdir(parents=True)
    env = env_of(endpoints, settings)
    producer_port, consumer_port = free_port(), free_port()
    producer = service(["produce", "--inbox", str(inbox), "--metrics-port", str(producer_port)], env)
    consumer = service(["consume", "--metrics-port", str(consumer_port)], env)
    for port in (producer_port, consumer_port):
        wait_for(lambda port=port: readyz(port)[0] == 200, 90, f"/readyz on {port}")  # type: ignore[misc]

    files = {"(default)": 6, games: 4}
    per_file = 4000
    started = time.time()
    scrapes: list[tuple[Samples, Samples]] = []
    for n in range(max(files.values())):  # files arrive one after another while the load runs
        for label, count in files.items():
            if n < count:
                folder = inbox if label == "(default)" else inbox / label
                write_json(
                    folder / f"part-{n}.json",
                    [{"n": i, "file": n, "pad": "x" * 100} for i in range(per_file)],
                )
        scrapes.append((scrape(producer_port), scrape(consumer_port)))
        time.sleep(0.3)
    expected = {label: count * per_file for label, count in files.items()}

    def indexed_all() -> bool:
        scrapes.append((scrape(producer_port), scrape(consumer_port)))
        consumed = scrapes[-1][1]
        return all(
            total(consumed, "spoolbridge_consumer_documents_indexed_total", dataset=label) == want
            for label, want in expected.items()
        )

    wait_for(indexed_all, 180, "every record indexed, as the consumer's /metrics count them")

    def settled() -> bool:  # every partition committed to its end, and nothing left in the inbox
        consumed = scrape(consumer_port)
        lags = [v for (name, _), v in consumed.items() if name == "spoolbridge_consumer_lag_messages"]
        commits = [total(consumed, "spoolbridge_consumer_last_commit_timestamp_seconds", dataset=label)
                   for label in files]  # fmt: skip
        waiting = total(scrape(producer_port), "spoolbridge_producer_inbox_files")
        return len(lags) == 2 * 3 and not any(lags) and min(commits) >= started and waiting == 0

    wait_for(settled, 30, "lag 0 on all 6 partitions, a commit per dataset, an empty inbox")
    produced, consumed = scrape(producer_port), scrape(consumer_port)

    # counters only grow, scrape after scrape, and the load was seen under way
    for name in COUNTERS:
        series = [total(p if "producer" in name else c, name) for p, c in scrapes]
        assert series == sorted(series), f"{name} went down between scrapes: {series}"
    under_way = [total(c, "spoolbridge_consumer_documents_indexed_total") for _, c in scrapes]
    assert any(0 < n < sum(expected.values()) for n in under_way), f"no scrape during the load: {under_way}"

    datasets = Datasets(settings)
    for label, count in files.items():
        dataset = datasets.get(None if label == "(default)" else label)
        in_topic = topic_size(settings, dataset.topic)
        in_index = doc_count(opensearch_client, dataset.index)
        assert in_topic == in_index == count * per_file
        done = inbox / "done" / ("" if label == "(default)" else label)
        file_bytes = sum((done / f"part-{n}.json").stat().st_size for n in range(count))
        _agree(
            produced, consumed, label, files=count, in_topic=in_topic, in_index=in_index, bytes_=file_bytes
        )
    assert total(produced, "spoolbridge_producer_produce_errors_total") == 0
    assert total(consumed, "spoolbridge_consumer_dead_letters_total") == 0
    assert stop(producer) == 0
    assert stop(consumer) == 0


def _agree(
    produced: Samples, consumed: Samples, label: str, *, files: int, in_topic: int, in_index: int, bytes_: int
) -> None:
    """One dataset's series against what its topic and its index hold."""

    def p(name: str, **labels: str) -> float:
        return total(produced, f"spoolbridge_producer_{name}", dataset=label, **labels)

    def c(name: str) -> float:
        return total(consumed, f"spoolbridge_consumer_{name}", dataset=label)

    assert p("files_total", outcome="done") == p("files_total") == files
    assert p("records_read_total") == p("records_produced_total") == in_topic
    assert p("delivery_latency_seconds_count") == files
    assert p("bytes_read_total") == bytes_
    assert c("messages_fetched_total") == in_topic
    assert c("documents_indexed_total") == in_index
    assert c("bulk_request_seconds_count") == c("bulk_request_bytes_count") >= 1
    assert c("bulk_requests_in_flight") == 0
