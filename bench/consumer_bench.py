"""Consumer benchmark: drain rate (docs/s) beside opensearch-py's bulk helpers on the same node, same run.

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 SPOOLBRIDGE_OPENSEARCH__URL=http://host:9200 \\
        python -m bench.consumer_bench [--docs 100000] [--repeat 2]

The documents are Steam-like records (1.1-3 KB, ``examples/generate_steam_sample.py``) plus a ``source``
field, keyed by id. Each run indexes all of them into a fresh index (1 shard, 0 replicas) of the same
node:

* **spoolbridge consumer**: the messages are produced to a fresh 3-partition topic first (not timed);
  then the consumer (in this process, default settings unless flags say otherwise) drains it. Rate =
  documents / time from its first fetched message to the last document acknowledged by OpenSearch
  (offsets committed along the way, as in production). Group join is reported separately.
* **streaming_bulk** / **parallel_bulk**: ``opensearchpy.helpers`` indexing the same documents, already in
  memory as dicts (no Kafka at all: the upper bound for this node), ``chunk_size`` = the consumer's
  ``max_events``; ``parallel_bulk`` with ``thread_count`` = the consumer's ``concurrent_requests``.

Runs alternate (consumer, streaming, parallel, consumer, …) so drift in the node hits all alike; the
table shows the best of ``--repeat`` runs of each and the consumer's ratio to the better baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from opensearchpy import OpenSearch, helpers

from consumer.dlq import DeadLetterPublisher
from consumer.index import ensure_index
from consumer.runner import Runner
from consumer.send import make_client
from consumer.service import consumer_config
from examples.generate_steam_sample import make_record
from schemas.datasets import Datasets
from schemas.settings import Settings, load_settings

PARTITIONS = 3


@dataclass
class Result:
    label: str
    docs: int
    secs: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.docs / self.secs


def make_documents(n: int) -> list[tuple[str, bytes]]:
    docs = []
    for i in range(n):
        app_id, record = make_record(i)
        record["source"] = "bench/steam.json"
        docs.append((f"bench/steam.json:{app_id}", orjson.dumps(record)))
    return docs


def run_consumer(base: Settings, docs: list[tuple[str, bytes]]) -> Result:
    name = f"bench-consumer-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        {"kafka": {"topic": name}, "opensearch": {"index": name}, "consumer": {"group": name}}
    )
    settings = settings.model_copy(update={"consumer": base.consumer, "opensearch": base.opensearch})
    settings = settings.model_copy(
        update={"opensearch": settings.opensearch.model_copy(update={"index": name, "number_of_replicas": 0})}
    )
    _produce(settings, docs)
    client = make_client(
        settings.opensearch.client_kwargs(), connections=settings.consumer.concurrent_requests
    )
    ensure_index(client, name, settings.opensearch)
    dlq = DeadLetterPublisher(settings.kafka, Datasets(settings))
    consumer = Consumer(consumer_config(settings, _quiet_logger()))
    runner = Runner(settings, consumer, client, dlq)
    started = time.monotonic()
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    first_fetch = _wait(lambda: runner.counters.fetched > 0, 60)
    done = _wait(lambda: runner.counters.done >= len(docs), 600)
    runner.stop()
    thread.join(60)
    runner.close()
    _cleanup(settings, client, name, topic=True)
    note = f"group join + first fetch {first_fetch - started:.1f} s; {runner.counters.requests} requests"
    return Result("spoolbridge consumer", len(docs), done - first_fetch, note)


def run_streaming_bulk(settings: Settings, docs: list[tuple[str, bytes]]) -> Result:
    return _run_helper(settings, docs, "streaming_bulk", parallel=False)


def run_parallel_bulk(settings: Settings, docs: list[tuple[str, bytes]]) -> Result:
    return _run_helper(settings, docs, "parallel_bulk", parallel=True)


def _run_helper(settings: Settings, docs: list[tuple[str, bytes]], label: str, *, parallel: bool) -> Result:
    name = f"bench-{label.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    cfg = settings.consumer
    client = OpenSearch(**{**settings.opensearch.client_kwargs(), "pool_maxsize": cfg.concurrent_requests})
    ensure_index(client, name, settings.opensearch.model_copy(update={"number_of_replicas": 0}))
    parsed = [(key, orjson.loads(value)) for key, value in docs]

    def actions() -> Iterator[dict[str, Any]]:
        for key, source in parsed:
            yield {"_index": name, "_id": key, "_source": source}

    started = time.monotonic()
    if parallel:
        results = helpers.parallel_bulk(
            client, actions(), thread_count=cfg.concurrent_requests, chunk_size=cfg.max_events,
            max_chunk_bytes=cfg.max_bytes,
        )  # fmt: skip
    else:
        results = helpers.streaming_bulk(
            client, actions(), chunk_size=cfg.max_events, max_chunk_bytes=cfg.max_bytes
        )
    ok = sum(1 for success, _ in results if success)
    secs = time.monotonic() - started
    assert ok == len(docs), f"{label}: {ok} of {len(docs)} indexed"
    _cleanup(settings, client, name, topic=False)
    threads = f"thread_count={cfg.concurrent_requests}, " if parallel else ""
    return Result(label, len(docs), secs, f"{threads}chunk_size={cfg.max_events}")


def _produce(settings: Settings, docs: list[tuple[str, bytes]]) -> None:
    admin = AdminClient(dict(settings.kafka.client_config()))
    admin.create_topics([NewTopic(settings.kafka.topic, PARTITIONS, 1)])[settings.kafka.topic].result(30)
    producer = Producer({**settings.kafka.client_config(), "linger.ms": 50, "compression.type": "lz4"})
    for key, value in docs:
        while True:
            try:
                producer.produce(settings.kafka.topic, key=key.encode(), value=value)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


def _cleanup(settings: Settings, client: OpenSearch, index: str, *, topic: bool) -> None:
    client.indices.refresh(index=index)
    count = client.count(index=index)["count"]
    client.indices.delete(index=index)
    if topic:
        admin = AdminClient(dict(settings.kafka.client_config()))
        topics = [settings.kafka.topic, settings.kafka.dead_letter_topic]
        for future in admin.delete_topics(topics).values():
            with contextlib.suppress(Exception):  # the DLQ topic may not exist
                future.result(30)
    print(f"  {index}: {count} documents", file=sys.stderr)


def _wait(condition: Callable[[], bool], timeout_secs: float) -> float:
    deadline = time.monotonic() + timeout_secs
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark run did not finish")
        time.sleep(0.005)
    return time.monotonic()


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("bench.librdkafka")
    logger.setLevel(logging.WARNING)
    return logger


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer_bench")
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-events", type=int, default=None)
    parser.add_argument("--concurrent-requests", type=int, default=None)
    args = parser.parse_args(argv)
    overrides = {"max_events": args.max_events, "concurrent_requests": args.concurrent_requests}
    settings = load_settings({"consumer": overrides})
    docs = make_documents(args.docs)
    megabytes = sum(len(v) for _, v in docs) / 1e6
    print(
        f"{len(docs)} documents, {megabytes:.0f} MB of JSON; node {settings.opensearch.safe_url}",
        file=sys.stderr,
    )
    runners = (run_consumer, run_streaming_bulk, run_parallel_bulk)
    best: dict[str, Result] = {}
    for round_ in range(args.repeat):
        for run in runners:
            result = run(settings, docs)
            print(f"round {round_ + 1}: {result.label} {result.rate:,.0f} docs/s", file=sys.stderr)
            if result.label not in best or result.rate > best[result.label].rate:
                best[result.label] = result
    upper = max(best["streaming_bulk"].rate, best["parallel_bulk"].rate)
    print("\n| run | docs | seconds | docs/s | x best helper | notes |\n|---|---:|---:|---:|---:|---|")
    for result in best.values():
        print(
            f"| {result.label} | {result.docs:,} | {result.secs:.2f} | {result.rate:,.0f} | "
            f"{result.rate / upper:.2f} | {result.note} |"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
