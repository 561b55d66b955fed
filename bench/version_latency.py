"""Version latency: from a new version's rename onto a path until the index holds exactly that version.

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 SPOOLBRIDGE_OPENSEARCH__URL=http://host:9200 \\
        python -m bench.version_latency [--trials 10] [--records 1000]

A bridge as in :mod:`bench.e2e` (``produce`` and ``consume`` with default settings, a fresh topic, index
and group) with one dataset folder. Version 0 of ``<folder>/data.jsonl`` is dropped and waited for (not
counted); then each trial renames version ``k`` onto the same path: JSON Lines whose records carry
``"version": k``, alternately ``--records`` and two thirds of that many, so every other version must also
delete the documents the previous one had beyond its own (tombstones). The clock runs from the rename
until a ``_count`` after a ``_refresh`` (asked by the benchmark every 20 ms) finds exactly that many
documents in the index and all of them of version ``k``. Pauses of 1-2 s (random) between trials.
Prints the median and the maximum.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
from confluent_kafka.admin import AdminClient
from opensearchpy import OpenSearch

from bench.e2e import DATA, TMP_PREFIX, Bench, Bridge
from schemas.settings import load_settings

POLL_SECS = 0.02
TIMEOUT_SECS = 120.0


def version_file(path: Path, version: int, records: int) -> None:
    lines = (orjson.dumps({"n": i, "version": version, "name": f"v{version}-{i}"}) for i in range(records))
    path.write_bytes(b"\n".join(lines) + b"\n")


def holds_exactly(client: OpenSearch, index: str, version: int, records: int) -> bool:
    client.indices.refresh(index=index)
    total = int(client.count(index=index)["count"])
    current = int(client.count(index=index, body={"query": {"term": {"version": version}}})["count"])
    return total == records and current == records


def wait_exactly(client: OpenSearch, index: str, version: int, records: int, started: float) -> float:
    while time.perf_counter() - started < TIMEOUT_SECS:
        if client.indices.exists(index=index) and holds_exactly(client, index, version, records):
            return time.perf_counter() - started
        time.sleep(POLL_SECS)
    raise SystemExit(f"version {version} was not exactly in {index} after {TIMEOUT_SECS:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--records", type=int, default=1000, help="records of the larger versions")
    args = parser.parse_args(argv)
    settings = load_settings({"opensearch": {"number_of_replicas": 0}})
    if settings.kafka.bootstrap_servers is None or settings.opensearch.url is None:
        raise SystemExit("set SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS and SPOOLBRIDGE_OPENSEARCH__URL")
    client = OpenSearch(**settings.opensearch.client_kwargs())
    bench = Bench(settings, client, AdminClient(dict(settings.kafka.client_config())))
    pauses = random.Random(11)
    secs: list[float] = []
    load = os.getloadavg()[0]
    DATA.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=TMP_PREFIX, dir=DATA) as tmp:
            staging = Path(tmp) / "staging"
            staging.mkdir()
            bridge = Bridge(bench, "versions", Path(tmp) / "bridge")
            try:
                bridge.start()
                folder = bridge.dataset("versions")
                path = bridge.inbox / folder / "data.jsonl"
                for version in range(args.trials + 1):  # version 0 warms up and is not counted
                    records = args.records if version % 2 == 0 else args.records * 2 // 3
                    version_file(staging / "next.jsonl", version, records)
                    started = time.perf_counter()
                    os.rename(staging / "next.jsonl", path)
                    took = wait_exactly(client, folder, version, records, started)
                    if version:
                        secs.append(took)
                        print(f"  version {version} ({records} records): {took:.2f} s", file=sys.stderr)
                    time.sleep(pauses.uniform(1.0, 2.0))
            except BaseException:
                bridge.stop()
                bridge.save_logs()
                raise
            finally:
                bridge.stop()
    finally:
        bench.cleanup()
        for leftover in DATA.glob(f"{TMP_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
    print("| trials | records per version | median | max | min | load avg |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(secs)} | {args.records:,} and {args.records * 2 // 3:,}, alternating |"
        f" {statistics.median(secs):.2f} s | {max(secs):.2f} s | {min(secs):.2f} s | {load:.1f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
