"""``spoolbridge status`` tells the truth after a run with a failed file, rejected records and DLQ'd ones."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.conftest import Endpoints


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _count_by_source(bootstrap: str, topic: str) -> Counter[str]:
    """Every message of ``topic``, counted by its spoolbridge-source header: the truth about the topic."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "status-truth", "enable.auto.commit": False}
    )
    counts: Counter[str] = Counter()
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for number in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)
            if high > low:
                ends[number] = high
        consumer.assign([TopicPartition(topic, number, 0) for number in ends])
        seen = 0
        while seen < sum(ends.values()):
            batch = consumer.consume(500, timeout=5)
            assert batch, "topic ended early"
            for message in batch:
                seen += 1
                source = dict(message.headers() or []).get("spoolbridge-source") or b"?"
                counts[source.decode() if isinstance(source, bytes) else source] += 1
    finally:
        consumer.close()
    return counts


def _write_inputs(inbox: Path) -> None:
    inbox.mkdir(parents=True)
    (inbox / "good.json").write_text(json.dumps([{"n": i, "title": f"game {i}"} for i in range(20)]))
    (inbox / "mixed.json").write_text('[{"n": 1}, {"n": 2}, 5, {"n": 4}]')
    (inbox / "broken.json").write_text('[{"n": 1}, {"n": 2}, {"n": ')
    lines = [{"price": i} for i in range(5)] + [{"price": {"amount": i}} for i in range(5)]
    (inbox / "conflict.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_status_counts_match_the_topic_the_index_and_the_dlq_per_dataset(
    endpoints: Endpoints, unique_name: Callable[[str], str], tmp_path: Path, opensearch_client: Any
) -> None:
    topic = unique_name("status")
    cars = unique_name("cars")
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__TOPIC=topic,
        SPOOLBRIDGE_KAFKA__PARTITIONS="1",  # one partition: the numbers reach OpenSearch before the objects
        SPOOLBRIDGE_CONSUMER__GROUP=unique_name("g"),
        SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS="0",
        SPOOLBRIDGE_PRODUCER__INBOX=str(tmp_path / "inbox"),
        SPOOLBRIDGE_PRODUCER__SETTLE_MS="0",
    )
    inbox = tmp_path / "inbox"
    _write_inputs(inbox)
    (inbox / cars).mkdir()
    (inbox / cars / "cars.json").write_text(json.dumps([{"make": "m", "hp": i} for i in range(7)]))
    (inbox / "Bad Folder").mkdir()
    (inbox / "Bad Folder" / "x.json").write_text("[{}]")
    produced = _cli(env, "produce", "--once")
    assert produced.returncode == 1, produced.stderr  # three files failed
    consumed = _cli(env, "consume", "--until-idle", "3")
    assert consumed.returncode == 0, consumed.stderr
    (inbox / "later.json").write_text("[]")  # arrived after the producer stopped: waiting
    shown = _cli(env, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    report = {d["dataset"]: d for d in json.loads(shown.stdout)["datasets"]}
    assert set(report) == {"(default)", cars, "Bad Folder"}
    default, own = report["(default)"], report[cars]
    rows = {row["source"]: row for row in default["sources"]}

    in_topic = _count_by_source(endpoints.bootstrap_servers, topic)
    in_dlq = _count_by_source(endpoints.bootstrap_servers, f"{topic}.dlq")
    opensearch_client.indices.refresh(index=topic)
    for name, row in rows.items():
        if name == "later.json":
            continue
        query = {"query": {"term": {"source.keyword": name}}}
        assert row["indexed"] == opensearch_client.count(index=topic, body=query)["count"], name
        assert row["produced"] == in_topic[name], name
        assert row["dead_lettered"] == in_dlq[name], name

    expected = {  # state, read, produced, indexed, rejected, dead-lettered
        "good.json": ("done", 20, 20, 20, 0, 0),
        "mixed.json": ("failed", 4, 3, 3, 1, 0),
        "conflict.jsonl": ("done", 10, 10, 5, 0, 5),
        "later.json": ("waiting", None, None, 0, 0, 0),
    }
    columns = ("state", "read", "produced", "indexed", "rejected", "dead_lettered")
    for name, values in expected.items():
        assert tuple(rows[name][column] for column in columns) == values, name
    assert rows["broken.json"]["state"] == "failed"
    assert rows["broken.json"]["indexed"] == rows["broken.json"]["produced"]
    assert default["index_documents"] == sum(row["indexed"] for row in rows.values())
    assert (default["files"], default["dead_lettered"], default["lag"]) == (5, 5, 0)

    assert (own["topic"], own["index"], own["files"], own["indexed"], own["lag"]) == (
        f"{topic}.{cars}",
        cars,
        1,
        7,
        0,
    )
    assert own["index_documents"] == 7
    assert (
        report["Bad Folder"]["problem"]
        == "dataset names must be lower case (they name an index and a Kafka topic)"
    )
    assert [row["state"] for row in report["Bad Folder"]["sources"]] == ["failed"]

    text = _cli(env, "status")  # piped: plain text, at most 80 columns, no name cut
    assert text.returncode == 0, text.stderr
    long_names = [name for name in (topic, cars, f"{topic}.{cars}", f"{cars}/cars.json") if len(name) > 40]
    for line in text.stdout.splitlines():  # longer only to hold a long name whole
        assert len(line) <= 80 or any(n in line and len(line) - len(n) <= 30 for n in long_names), line
    for name in ("good.json", "conflict.jsonl", f"{cars}/cars.json", "later.json"):
        assert name in text.stdout
    only = json.loads(_cli(env, "status", "--json", "--dataset", cars).stdout)
    assert [d["dataset"] for d in only["datasets"]] == [cars]
    _wait_exits_3_until_the_ledger_balances(env, inbox)


def _wait_exits_3_until_the_ledger_balances(env: dict[str, str], inbox: Path) -> None:
    timed_out = _cli(env, "status", "--wait", "1")  # later.json still waits: the ledger cannot balance
    assert timed_out.returncode == 3, timed_out.stderr
    assert "still in progress after 1 s" in timed_out.stderr
    assert "later.json" in timed_out.stdout  # the report is still printed
    (inbox / "later.json").unlink()
    settled = _cli(env, "status", "--wait", "30")
    assert settled.returncode == 0, settled.stderr
