"""Run ``spoolbridge connect-config``'s output against the real Aiven OpenSearch sink, on the local stack.

    make connect-check CONNECTOR_PLUGIN_DIR=path/to/the/connector [CONNECTOR_VERSION=3.1.1]
    python -m bench.connect_check --plugin-dir DIR [--connector-version 3.1.1] [--measure 100000]

The connector is not on Maven Central: build it from its public source (the README says how) and pass the
folder that holds its jars. Kafka Connect itself (``connect-runtime``, ``connect-json``,
``connect-transforms`` and their dependencies, version ``--kafka-version``, the local stack's) is fetched
from Maven Central with ``mvn dependency:copy-dependencies`` into ``--work-dir``. One standalone worker is
started against the local stack; the printed connector JSON is posted unchanged (the password
placeholder filled in when there is one). Then, on fresh topics and indices, each case is run and one
table row printed:

* **same documents**: a dataset's ids and ``_source`` (by value) equal to spoolbridge's consumer's,
  which indexes the same topic into another index;
* **new dataset**: a dataset created after the connector started is indexed within seconds;
* **tombstone**: a null value deletes the document;
* **redelivery**: the connector deleted, its group reset to the start, posted again: counts unchanged and
  the task still running;
* **refused → DLQ → replay**: a document over the index's field limit goes to the connector's own
  dead-letter topic; ``dlq list --connect-dlq`` shows it; the index body fixed, ``dlq replay
  --connect-dlq`` sends it back and the connector indexes it;
* **big integers**: what each side indexed for integers beyond 64 bits (reported, not judged).

``--measure N`` adds the drain rate on N Steam-like and 10*N small records (docs/s and CPU seconds from
``/proc/<pid>/stat`` of the JVM and of the consumer process, one after the other on the same node).
Every process it starts is stopped by its pid. Not part of ``make test`` (CI has no connector build).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from opensearchpy import OpenSearch, helpers

from schemas.settings import Settings, load_settings
from spoolbridge.connect_config import (
    PASSWORD_PLACEHOLDER,
    connector_config,
    consumer_group,
    dead_letter_topic,
)

from .connect_worker import Worker, cpu_seconds, fetch_worker_jars, wait_for


@dataclass
class Row:
    case: str
    ok: bool | None  # None: reported, not judged
    detail: str


class Check:
    """The cases, on fresh topics (``<base>.<dataset>``) and indices; the results as rows."""

    def __init__(self, settings: Settings, worker: Worker, version: str, work: Path) -> None:
        self.settings, self.worker, self.version, self.work = settings, worker, version, work
        self.rows: list[Row] = []
        self.client = OpenSearch(**settings.opensearch.client_kwargs())
        self.kafka: dict[str, Any] = dict(settings.kafka.client_config())
        self.config = connector_config(settings, connector_version=version)
        self.name = str(self.config["name"])
        self.dlq = dead_letter_topic(self.name)
        suffix = settings.kafka.topic.rsplit("-", 1)[1]
        self.movies, self.later, self.limited, self.bigints = (
            f"{d}-{suffix}" for d in ("movies", "later", "limited", "bigints")
        )

    # --- plumbing ---------------------------------------------------------------------------------
    def topic(self, dataset: str) -> str:
        return f"{self.settings.kafka.topic}.{dataset}"

    def create_topics(self, *names: str, partitions: int = 1) -> None:
        admin = AdminClient(self.kafka)
        for future in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
            future.result(30)

    def produce(self, topic: str, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        producer = Producer({**self.kafka, "linger.ms": 20})
        for key, value in records:
            while True:
                try:
                    producer.produce(topic, key=key, value=value)
                    break
                except BufferError:
                    producer.poll(0.1)
        assert producer.flush(60) == 0

    def count(self, index: str, *, refresh: bool = True) -> int:
        """Documents in ``index`` (0 before it exists); ``refresh=False`` while draining: a forced refresh
        every poll would slow the side being measured (the index refreshes itself each second)."""
        try:
            if refresh:
                self.client.indices.refresh(index=index)
            return int(self.client.count(index=index)["count"])
        except Exception:  # not created yet
            return 0

    def documents(self, index: str) -> dict[str, Any]:
        self.client.indices.refresh(index=index)
        hits = helpers.scan(self.client, index=index, query={"query": {"match_all": {}}})
        return {hit["_id"]: hit["_source"] for hit in hits}

    def post(self) -> None:
        body = json.loads(json.dumps(self.config).replace(PASSWORD_PLACEHOLDER, _password(self.settings)))
        self.worker.request("POST", "/connectors", body)
        wait_for(lambda: self.worker.task_state(self.name) == "RUNNING", 60, "the connector's task")

    def consume(self, indices: dict[str, str]) -> int:
        """spoolbridge's consumer, in its own process, until idle; returns its CPU seconds."""
        env = {**os.environ, **_env(self.settings)}
        env["SPOOLBRIDGE_CONSUMER__GROUP"] = f"{self.settings.kafka.topic}-spoolbridge"
        config = self.work / "consumer.toml"
        config.write_text("".join(f'[datasets."{d}"]\nindex = "{i}"\n' for d, i in indices.items()))
        command = [
            sys.executable,
            "-m",
            "spoolbridge.cli",
            "consume",
            "--until-idle",
            "5",
            "--config",
            str(config),
        ]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        assert process.returncode == 0, (process.stderr.read() if process.stderr else b"").decode()[-2000:]
        return int(1000 * (usage.ru_utime + usage.ru_stime))

    # --- the cases ----------------------------------------------------------------------------------
    def run(self) -> list[Row]:
        self.create_topics(self.settings.kafka.topic)
        self.post()
        movies = [(f"m.json:{i}".encode(), orjson.dumps(_movie(i))) for i in range(2000)]
        self.create_topics(self.topic(self.movies), partitions=3)
        self.produce(self.topic(self.movies), movies)
        took = wait_for(lambda: self.count(self.movies) == len(movies), 600, "the connector's movies")
        self.rows.append(Row("first dataset indexed", True, f"{len(movies)} documents in {took:.1f} s"))
        self.same_documents()
        self.new_dataset()
        self.tombstone()
        self.redelivery()
        self.refused_and_replayed()
        self.big_integers()
        return self.rows

    def same_documents(self) -> None:
        self.consume({self.movies: f"{self.movies}-sb"})
        connect, ours = self.documents(self.movies), self.documents(f"{self.movies}-sb")
        only = set(connect) ^ set(ours)
        differ = [i for i in set(connect) & set(ours) if connect[i] != ours[i]]
        ok = not only and not differ and len(connect) == 2000
        detail = (
            f"{len(connect)} / {len(ours)} ids, {len(only)} on one side only, {len(differ)} _source differ"
        )
        self.rows.append(Row("same ids and _source as spoolbridge's consumer", ok, detail))

    def new_dataset(self) -> None:
        self.create_topics(self.topic(self.later))
        created = time.monotonic()
        self.produce(self.topic(self.later), [(b"l.json:1", b'{"title": "later", "source": "l.json"}')])
        took = wait_for(lambda: self.count(self.later) == 1, 400, "the new dataset")
        self.rows.append(
            Row("new dataset picked up", took < 30, f"{time.monotonic() - created:.1f} s after its topic")
        )

    def tombstone(self) -> None:
        self.produce(self.topic(self.movies), [(b"m.json:7", None)])
        took = wait_for(lambda: self.count(self.movies) == 1999, 60, "the tombstone")
        self.rows.append(Row("tombstone deletes", True, f"m.json:7 gone in {took:.1f} s"))

    def redelivery(self) -> None:
        before = self.count(self.movies)
        self.worker.request("DELETE", f"/connectors/{self.name}")
        group = consumer_group(self.name)
        admin = AdminClient(self.kafka)
        topic = self.topic(self.movies)
        partitions = [TopicPartition(topic, p, 0) for p in range(3)]
        from confluent_kafka import ConsumerGroupTopicPartitions

        def reset() -> bool:
            try:
                request = [ConsumerGroupTopicPartitions(group, partitions)]
                admin.alter_consumer_group_offsets(request)[group].result(10)
                return True
            except Exception:  # the group still has its member for a moment
                return False

        wait_for(reset, 60, "resetting the connector's group")
        self.post()
        wait_for(lambda: _lag(self.kafka, group, topic, 3) == 0, 120, "the redelivery")
        time.sleep(2)
        after, state = self.count(self.movies), self.worker.task_state(self.name)
        ok = after == before and state == "RUNNING"
        self.rows.append(
            Row("full redelivery after a group reset", ok, f"{before} → {after} documents, task {state}")
        )

    def refused_and_replayed(self) -> None:
        from spoolbridge.connect_dead_letters import list_connect_letters, replay_connect_letters

        index_body = {"settings": {"index.mapping.total_fields.limit": 5, "number_of_replicas": 0}}
        self.client.indices.create(index=self.limited, body=index_body)
        wide = {f"f{i}": i for i in range(10)}
        self.create_topics(self.topic(self.limited))
        self.produce(self.topic(self.limited), [(b"w.json:1", orjson.dumps(wide))])
        wait_for(lambda: _end(self.kafka, self.dlq) >= 1, 120, "the dead letter")
        groups = list_connect_letters(self.settings, self.dlq)
        listed = [(g.dataset, g.count, g.reason.split(":")[0]) for g in groups]
        fixed_body = self.work / "limited.json"
        fixed_body.write_text('{"settings": {"index.mapping.total_fields.limit": 1000}}')
        own = {self.limited: {"index_body_file": str(fixed_body)}}
        fixed = self.settings.model_copy(update={"datasets": load_settings({"datasets": own}).datasets})
        results = replay_connect_letters(fixed, self.dlq)
        took = wait_for(lambda: self.count(self.limited) == 1, 120, "the replayed document")
        replayed = [(r.dataset, r.replayed) for r in results]
        ok = listed == [(self.limited, 1, "field limit")] and replayed == [(self.limited, 1)]
        detail = f"listed {listed}, replayed {replayed}, indexed {took:.1f} s later"
        self.rows.append(Row("refused → Connect's DLQ → dlq replay", ok, detail))

    def big_integers(self) -> None:
        record = (
            b'{"big": 123456789012345678901234567890, "u64": 18446744073709551615, '
            b'"i64": 9223372036854775807}'
        )
        self.create_topics(self.topic(self.bigints))
        self.produce(self.topic(self.bigints), [(b"b.json:1", record)])
        wait_for(lambda: self.count(self.bigints) == 1, 60, "the big integers")
        self.consume({self.bigints: f"{self.bigints}-sb", self.movies: f"{self.movies}-sb"})
        connect = self.documents(self.bigints).get("b.json:1")
        ours = (
            self.documents(f"{self.bigints}-sb").get("b.json:1") if self.count(f"{self.bigints}-sb") else None
        )
        ours_text = ours or "refused by OpenSearch (its DLQ)"
        detail = f"connector indexed {connect}; spoolbridge's consumer: {ours_text}"
        self.rows.append(Row("integers beyond 64 bits", None, detail))

    # --- the measure --------------------------------------------------------------------------------
    def measure(self, label: str, docs: list[tuple[bytes, bytes]]) -> None:
        dataset = f"{label}-{uuid.uuid4().hex[:6]}"
        self.create_topics(self.topic(dataset), partitions=3)
        self.produce(self.topic(dataset), docs)
        pid = self.worker.process.pid
        cpu, start = cpu_seconds(pid), time.monotonic()
        wait_for(
            lambda: self.count(dataset, refresh=False) >= len(docs), 3600, f"the connector on {label}", 1.0
        )
        secs, jvm = time.monotonic() - start, cpu_seconds(pid) - cpu
        rewinds = self.worker.log.read_text(errors="replace").count("Offset commit failed, rewinding")
        note = f"; {rewinds} offset commits failed and rewound the task so far" if rewinds else ""
        self.rows.append(Row(f"drain {label}: connector", None, _rate(len(docs), secs, jvm) + note))
        start = time.monotonic()
        consumer_ms = self.consume({dataset: f"{dataset}-sb"})
        secs = time.monotonic() - start - 5  # less --until-idle
        assert self.count(f"{dataset}-sb") == len(docs)
        self.rows.append(
            Row(f"drain {label}: spoolbridge consumer", None, _rate(len(docs), secs, consumer_ms / 1000))
        )


def _rate(docs: int, secs: float, cpu: float) -> str:
    return f"{docs} docs in {secs:.1f} s = {docs / secs:,.0f} docs/s, {cpu:.1f} CPU s"


def _lag(kafka: dict[str, Any], group: str, topic: str, partitions: int) -> int:
    consumer = Consumer({**kafka, "group.id": group})
    try:
        lag = 0
        for tp in consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            lag += high - max(tp.offset, 0)
        return lag
    finally:
        consumer.close()


def _end(kafka: dict[str, Any], topic: str) -> int:
    consumer = Consumer({**kafka, "group.id": "connect-check-end"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        )
    finally:
        consumer.close()


def _movie(i: int) -> dict[str, Any]:
    return {
        "Title": f"Movie {i} — “{chr(0x4E00 + i % 500)}”",
        "IMDB Rating": (i % 90) / 10 if i % 3 else i % 9,  # floats and whole numbers: the mapping race
        "Year": 1950 + i % 70,
        "Genres": ["Drama", "Comedy"][: 1 + i % 2],
        "Budget": None if i % 5 == 0 else i * 1000,
        "Cast": {"lead": f"Actor {i}", "count": i % 12},
        "source": "m.json",
    }


def _small(i: int) -> tuple[bytes, bytes]:
    return f"small.jsonl:{i}".encode(), orjson.dumps(
        {"n": i, "name": f"record {i}", "ok": i % 2 == 0, "source": "small.jsonl"}
    )


def _password(settings: Settings) -> str:
    url = settings.opensearch.url.get_secret_value() if settings.opensearch.url else ""
    from urllib.parse import urlsplit

    return urlsplit(url).password or ""


def _env(settings: Settings) -> dict[str, str]:
    env = {
        "SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers or "",
        "SPOOLBRIDGE_KAFKA__TOPIC": settings.kafka.topic,
        "SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS": "0",
    }
    if settings.opensearch.url is not None:
        env["SPOOLBRIDGE_OPENSEARCH__URL"] = settings.opensearch.url.get_secret_value()
    return env


def _settings(topic: str) -> Settings:
    from spoolbridge.stack.manager import LocalStack, endpoints_configured

    settings = load_settings({"kafka": {"topic": topic}, "opensearch": {"number_of_replicas": 0}})
    if not endpoints_configured(settings):
        stack = LocalStack(settings.stack)
        assert stack.running(), "no Kafka/OpenSearch configured and no local stack running"
        settings = stack.endpoint_settings(settings)
    return settings


def print_table(rows: list[Row]) -> None:
    width = max(len(r.case) for r in rows)
    for row in rows:
        mark = "    " if row.ok is None else "ok  " if row.ok else "FAIL"
        print(f"{mark} {row.case:<{width}}  {row.detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.connect_check")
    parser.add_argument("--plugin-dir", type=Path, required=True, help="the connector's folder of jars")
    parser.add_argument("--connector-version", default="3.1.1")
    parser.add_argument("--kafka-version", default="4.1.1", help="Kafka Connect's (the local stack's)")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="jars and worker files (default: a temp dir)"
    )
    parser.add_argument(
        "--measure", type=int, default=0, metavar="N", help="also drain N Steam-like, 10*N small"
    )
    parser.add_argument("--skip-cases", action="store_true", help="only the measure")
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="connect-check-"))
    lib = fetch_worker_jars(work, args.kafka_version)
    run_dir = work / f"run-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    settings = _settings(f"ccheck-{uuid.uuid4().hex[:8]}")
    worker = Worker(lib, args.plugin_dir, settings.kafka.bootstrap_servers or "", run_dir)
    try:
        check = Check(settings, worker, args.connector_version, run_dir)
        rows: list[Row] = []
        try:
            if not args.skip_cases:
                check.run()
            else:
                check.create_topics(settings.kafka.topic)
                check.post()
            if args.measure:
                from bench.consumer_bench import make_documents

                steam = [(k.encode(), v) for k, v in make_documents(args.measure)]
                check.measure("steam", steam)
                check.measure("small", [_small(i) for i in range(10 * args.measure)])
        except Exception as exc:
            state = worker.task_state(check.name)  # a failed task says why the case stalled
            detail = f"{type(exc).__name__}: {exc}; task {state}; worker log {worker.log}"
            check.rows.append(Row("(stopped)", False, detail))
        rows = check.rows
    finally:
        worker.stop()
    print(
        f"connector {args.connector_version} ({args.plugin_dir}), Kafka Connect {args.kafka_version}, "
        f"base topic {settings.kafka.topic}"
    )
    print_table(rows)
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
