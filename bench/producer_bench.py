"""Producer benchmark: records/s against a raw confluent-kafka loop, and peak RSS against file size.

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 python -m bench.producer_bench

For each record size (Steam-like 1.1-3 KB records as an object-of-records ``.json``; ~100-140 B records
as JSON Lines) it runs, in the same run and against the same broker:

* **spoolbridge**: ``python -m producer --once`` on an inbox holding the file (a separate process, so its
  peak RSS is its own); records/s = records / the manifest's ``duration_secs`` (hashing, reading, parsing,
  producing and waiting for every ack — process start-up and topic creation excluded);
* **raw loop**: the same messages (key, value, headers) pre-serialized in memory, then
  ``Producer.produce`` + ``poll(0)`` + ``flush()`` with the same producer settings (idempotent, acks=all,
  same compression, linger and batch size) and no per-message callback.

Each is run ``--repeat`` times, interleaved, and the best run of each is reported. Then the producer's
peak RSS for a ~10 MB and a ~1 GB Steam-like file (``--rss-big-mb``). Data files are
generated once into ``bench/data/`` (ignored by git); topics are created with a short retention and
deleted at the end. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from examples.generate_steam_sample import generate
from producer.publish.publisher import QUEUE_MAX_KBYTES
from producer.read.entry import read_records
from schemas.ids import default_id
from schemas.message import encode_value, message_headers
from schemas.settings import ProducerSettings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
PARTITIONS = 3


@dataclass
class Run:
    label: str
    records: int
    secs: float
    peak_rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.records / self.secs


def data_file(kind: str, records: int, size: str, fmt: str) -> Path:
    folder = DATA / f"{kind}-{records}"
    ext = ".jsonl" if fmt == "jsonl" else ".json"
    path = folder / f"games-00001{ext}"
    if not path.exists():
        print(f"generating {records} {size} records ({fmt}) into {folder} ...", file=sys.stderr, flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        generate(folder, records, fmt=fmt, size=size)  # type: ignore[arg-type]
    return path


def records_for_mb(megabytes: int) -> int:
    return max(1, megabytes * 1024 * 1024 // 2050)  # Steam-like records average ~2 KB


def create_topic(admin: AdminClient, name: str) -> None:
    config = {"retention.bytes": str(256 * 1024 * 1024), "segment.bytes": str(64 * 1024 * 1024)}
    admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1, config=config)])[
        name
    ].result(timeout=30)


_LAUNCH = (
    "import sys\n"
    "from producer.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "status = open('/proc/self/status').read()\n"
    "print('VmHWM_kB', status.split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_producer(bootstrap: str, topic: str, source: Path) -> Run:
    """``python -m producer --once`` on a fresh inbox holding ``source``; rate from the manifest.

    Peak RSS is the process's own ``VmHWM`` read just before it exits (``ru_maxrss`` of a child would
    include the memory of this benchmark process from before ``exec``).
    """
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        shutil.copyfile(source, inbox / source.name)  # a second hard link would be refused
        env = {**os.environ, "SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS": bootstrap, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-c", _LAUNCH, "--once", "--inbox", str(inbox), "--topic", topic]
        done = subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        log = done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise SystemExit(f"producer failed:\n{log[-3000:]}")
        peak_kb = int(log.rsplit("VmHWM_kB", 1)[1].split()[0])
        manifest = orjson.loads((inbox / "done" / f"{source.name}.manifest.json").read_bytes())
        return Run("spoolbridge", manifest["records"], manifest["duration_secs"], peak_kb / 1024)


def prepare_messages(source: Path, relative: str) -> list[tuple[str, bytes, Any]]:
    sha = "0" * 64
    return [
        (
            default_id(relative, position),
            encode_value(record, "source", relative),
            message_headers(relative, sha, position),
        )
        for position, record in read_records(source)
    ]


def run_raw(bootstrap: str, topic: str, messages: list[tuple[str, bytes, Any]]) -> Run:
    """The baseline: produce pre-serialized messages as fast as librdkafka takes them."""
    settings = ProducerSettings()
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": settings.compression,
            "linger.ms": settings.linger_ms,
            "batch.size": settings.batch_size_bytes,
            "queue.buffering.max.kbytes": QUEUE_MAX_KBYTES,
        }
    )
    producer.produce(topic, b"{}", "warm-up")  # connect and get the idempotent producer id first
    producer.flush(30)
    produce, poll = producer.produce, producer.poll
    started = time.perf_counter()
    for index, (key, value, headers) in enumerate(messages):
        while True:
            try:
                produce(topic, value, key, headers=headers)
                break
            except BufferError:
                poll(0.05)
        if index % 1000 == 0:
            poll(0)
    remaining = producer.flush(120)
    secs = time.perf_counter() - started
    if remaining:
        raise SystemExit(f"raw loop: {remaining} messages not delivered")
    return Run("raw confluent-kafka loop", len(messages), secs)


CASES = [
    ("Steam-like 1.1-3 KB, object of records (.json)", "steam", "steam", "object"),
    ("small 100-140 B, JSON Lines", "small", "small", "jsonl"),
]
TopicFactory = Callable[[str], str]


def throughput_row(
    bootstrap: str, topic: TopicFactory, case: tuple[str, str, str, str], count: int, repeat: int
) -> str:
    title, kind, size, fmt = case
    source = data_file(kind, count, size, fmt)
    messages = prepare_messages(source, source.name)
    raws, ourses = [], []
    for attempt in range(repeat):  # interleaved, best of each: the host is shared and noisy
        raws.append(run_raw(bootstrap, topic(f"{kind}-raw{attempt}"), messages))
        ourses.append(run_producer(bootstrap, topic(f"{kind}-ours{attempt}"), source))
    del messages
    raw = max(raws, key=lambda r: r.rate)
    ours = max(ourses, key=lambda r: r.rate)
    mb = source.stat().st_size / 1e6
    return (
        f"| {title} | {count:,} | {mb:,.0f} MB | {ours.rate:,.0f} | {raw.rate:,.0f} | "
        f"{ours.rate / raw.rate:.2f}x | {ours.peak_rss_mb:.0f} MB |"
    )


def rss_row(bootstrap: str, topic: TopicFactory, megabytes: int) -> str:
    source = data_file(f"steam-{megabytes}mb", records_for_mb(megabytes), "steam", "object")
    ours = run_producer(bootstrap, topic(f"rss-{megabytes}"), source)
    size_mb = source.stat().st_size / 1e6
    return f"| {size_mb:,.0f} MB | {ours.records:,} | {ours.peak_rss_mb:.0f} MB | {ours.rate:,.0f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steam-records", type=int, default=100_000)
    parser.add_argument("--small-records", type=int, default=1_000_000)
    parser.add_argument("--rss-small-mb", type=int, default=10)
    parser.add_argument("--rss-big-mb", type=int, default=1024)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    run_id = uuid.uuid4().hex[:8]
    topics: list[str] = []

    def topic(name: str) -> str:
        full = f"bench-producer-{name}-{run_id}"
        create_topic(admin, full)
        topics.append(full)
        return full

    rows: list[str] = []
    rss_rows: list[str] = []
    try:
        for case, count in zip(CASES, (args.steam_records, args.small_records), strict=True):
            rows.append(throughput_row(bootstrap, topic, case, count, args.repeat))
            print(rows[-1], file=sys.stderr, flush=True)
        if not args.skip_rss:
            for megabytes in (args.rss_small_mb, args.rss_big_mb):
                rss_rows.append(rss_row(bootstrap, topic, megabytes))
                print(rss_rows[-1], file=sys.stderr, flush=True)
    finally:
        if topics:
            for future in admin.delete_topics(topics).values():
                future.result(timeout=30)
        for leftover in DATA.glob("tmp*"):
            shutil.rmtree(leftover, ignore_errors=True)
    print(
        "| input | records | file | spoolbridge records/s | raw loop records/s | ratio | producer peak RSS |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    if rss_rows:
        print()
        print("| Steam-like input file | records | producer peak RSS | records/s |")
        print("| ---: | ---: | ---: | ---: |")
        print("\n".join(rss_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
