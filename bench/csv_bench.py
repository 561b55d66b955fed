"""CSV benchmark: the producer on a big CSV against the raw confluent-kafka loop and pandas.

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 python -m bench.csv_bench [--mb 200]

In the same run, against the same broker, on one generated Steam-like CSV (``--mb``; quoted names with
commas, prices, booleans, codes with leading zeros):

* **spoolbridge**: ``python -m producer --once`` on an inbox holding the file (its own process: its peak
  RSS is its own); records/s = records / the manifest's ``duration_secs``;
* **raw loop**: the same messages (key, value, headers) of the first ``--raw-records`` rows
  pre-serialized in memory (all of a big file's would take gigabytes), then ``Producer.produce`` +
  ``poll(0)`` + ``flush()`` with the producer's settings (see :mod:`bench.producer_bench`);
* **pandas**: what a user would write: ``pandas.read_csv(path)``, then for each row
  (``itertuples``) a dict without the missing values, the same id, value and headers, and the same
  produce loop; records/s from the start of
  ``read_csv`` to the last ack, peak RSS of its own process.

Each is run ``--repeat`` times, interleaved, and the best run of each is reported. Prints a Markdown
table. The file is generated once into ``bench/data/`` (ignored by git).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import subprocess
import sys
import time
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.producer_bench import DATA, REPO, Run, create_topic, run_producer, run_raw
from producer.publish.publisher import QUEUE_MAX_KBYTES
from producer.read.entry import read_records
from schemas.ids import default_id
from schemas.message import encode_value, message_headers
from schemas.settings import ProducerSettings

COLUMNS = ["app_id", "name", "release_date", "price", "positive", "negative", "multiplayer", "code", "tags"]
WORDS = ["Quest", "Dungeon", "Star", "Farm", "Racer", "Empire", "Shadow", "Puzzle", "Tycoon", "Legends"]
TAGS = ["Action", "Indie", "RPG", "Strategy", "Casual", "Simulation", "Adventure", "Sports"]


def csv_file(megabytes: int) -> Path:
    """A Steam-like CSV of about ``megabytes`` MB (made once)."""
    path = DATA / f"csv-{megabytes}mb" / "games.csv"
    if path.exists():
        return path
    print(f"generating a {megabytes} MB CSV into {path.parent} ...", file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20)
    target = megabytes * 1024 * 1024
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        app_id = 10
        while out.tell() < target:
            app_id += rng.randint(1, 20)
            name = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
            writer.writerow(
                [
                    app_id,
                    f'{name}, "{rng.choice(WORDS)}" Edition' if rng.random() < 0.3 else name,
                    f"20{rng.randint(0, 24):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"{rng.randint(0, 59)}.{rng.choice(['99', '49', '00', '5'])}",
                    rng.randint(0, 500_000),
                    rng.randint(0, 50_000),
                    rng.choice(["true", "false"]),
                    f"{rng.randint(0, 99_999):05d}",
                    ";".join(rng.sample(TAGS, k=rng.randint(1, 4))),
                ]
            )
    return path


def _producer(bootstrap: str) -> Producer:
    settings = ProducerSettings()
    return Producer(
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


def pandas_worker(source: Path, bootstrap: str, topic: str) -> None:
    """Runs in its own process: read_csv + a produce loop; prints records, seconds and peak RSS."""
    import pandas  # type: ignore[import-untyped]  # a baseline's dependency, imported only here

    producer = _producer(bootstrap)
    producer.produce(topic, b"{}", "warm-up")
    producer.flush(30)
    produce, poll = producer.produce, producer.poll
    relative, sha = source.name, "0" * 64
    started = time.perf_counter()
    frame = pandas.read_csv(source)
    count = 0
    columns = list(frame.columns)
    for index, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        record = {
            k: v for k, v in zip(columns, row, strict=True) if not (isinstance(v, float) and math.isnan(v))
        }
        position = str(index)
        value = encode_value(record, "source", relative)
        while True:
            try:
                produce(
                    topic,
                    value,
                    default_id(relative, position),
                    headers=message_headers(relative, sha, position),
                )
                break
            except BufferError:
                poll(0.05)
        count += 1
        if count % 1000 == 0:
            poll(0)
    if producer.flush(120):
        raise SystemExit("pandas loop: messages not delivered")
    secs = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    print(count, secs, status.split("VmHWM:")[1].split()[0])


def first_messages(source: Path, count: int) -> list[tuple[str, bytes, Any]]:
    """The first ``count`` rows' messages, as the producer makes them (see :func:`prepare_messages`)."""
    relative, sha = source.name, "0" * 64
    return [
        (
            default_id(relative, position),
            encode_value(record, "source", relative),
            message_headers(relative, sha, position),
        )
        for position, record in islice(read_records(source), count)
    ]


def run_pandas(bootstrap: str, topic: str, source: Path) -> Run:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "bench.csv_bench", "--pandas-worker", str(source), "--topic", topic]
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"pandas loop failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
    count, secs, peak_kb = done.stdout.split()
    return Run("pandas read_csv + produce loop", int(count), float(secs), int(peak_kb) / 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=200, help="size of the generated CSV")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is reported")
    parser.add_argument("--raw-records", type=int, default=300_000, help="rows the raw loop sends")
    parser.add_argument("--pandas-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    if args.pandas_worker is not None:
        pandas_worker(args.pandas_worker, bootstrap, args.topic)
        return 0
    source = csv_file(args.mb)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    run_id = uuid.uuid4().hex[:8]
    topics: list[str] = []

    def topic(name: str) -> str:
        full = f"bench-csv-{name}-{run_id}"
        create_topic(admin, full)
        topics.append(full)
        return full

    runs: dict[str, list[Run]] = {"ours": [], "raw": [], "pandas": []}
    try:
        for attempt in range(args.repeat):  # interleaved, best of each: the host is shared and noisy
            runs["ours"].append(run_producer(bootstrap, topic(f"ours{attempt}"), source))
            messages = first_messages(source, args.raw_records)
            runs["raw"].append(run_raw(bootstrap, topic(f"raw{attempt}"), messages))
            del messages
            runs["pandas"].append(run_pandas(bootstrap, topic(f"pandas{attempt}"), source))
            for kind in runs:
                print(kind, attempt, f"{runs[kind][-1].rate:,.0f}/s", file=sys.stderr, flush=True)
    finally:
        if topics:
            for future in admin.delete_topics(topics).values():
                future.result(timeout=30)
    best = {kind: max(each, key=lambda r: r.rate) for kind, each in runs.items()}
    size_mb = source.stat().st_size / 1e6
    print(f"CSV: {size_mb:,.0f} MB, {best['ours'].records:,} rows")
    print("| run | records | records/s | vs raw loop | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind in ("ours", "raw", "pandas"):
        run = best[kind]
        rss = f"{run.peak_rss_mb:,.0f} MB" if run.peak_rss_mb is not None else "(in the bench process)"
        ratio = run.rate / best["raw"].rate
        print(f"| {run.label} | {run.records:,} | {run.rate:,.0f} | {ratio:.2f}x | {rss} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
