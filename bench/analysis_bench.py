"""The page's analysis server (issue 18) against opensearch-py on the same node, in the same run:

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 SPOOLBRIDGE_OPENSEARCH__URL=http://host:9200 \\
        python -m bench.analysis_bench [--docs 1000000] [--requests 50] [--keep]

An index of ``--docs`` small documents (``genre``: text with a keyword sub-field, 250 distinct values of
skewed frequency; ``n``: a number; ``at``: a date; ``source``: one of 8 file names) is loaded with
``helpers.parallel_bulk`` (1 shard, 0 replicas, refresh off, one refresh at the end) unless it is already
there with that many documents; a dataset folder with a file in a temporary inbox makes it a dataset of the
page. ``spoolbridge web`` then runs as a subprocess on that inbox, against the stack, and:

1. **Top values**: ``GET /api/values?dataset=…&field=genre`` (and ``field=n``, a number: two searches,
   values and histogram) ``--requests`` times each over one kept-alive connection, interleaved with the
   same :func:`~spoolbridge.web.field_stats.top_values` called from this process straight on OpenSearch
   (the node's own time plus opensearch-py's); median and p95 latency; the server's ``VmRSS`` before and
   after and its ``VmHWM``. Repeated ``size: 0`` searches are answered from the node's shard request
   cache, so the medians are mostly the page's and the client's own time; the first request of each field
   (the cache cleared just before) is what a new question costs.
2. **Export**: ``GET /api/export?dataset=…&format=csv`` of every hit, downloaded by ``curl`` to a file:
   docs/s from the request to the last byte, bytes, the server's CPU seconds, its ``VmRSS`` before and its
   peak over the export (``VmHWM``, reset just before through ``/proc/<pid>/clear_refs``).
   **Baseline**: a subprocess running ``helpers.scan`` (same query, size 1000, index order) writing the
   same columns (the page's CSV header) with ``csv.writer`` to a file: docs/s from its first request to
   the file closed, CPU seconds, its own ``VmHWM``.

Both CSVs must hold ``--docs`` data rows and the same multiset of lines (an order-independent sum of line
hashes), else the bench fails. The index is deleted at the end unless ``--keep``. Tables go to stdout,
progress to stderr.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

DATASET = "bench-analysis"
SOURCES = [f"part-{i:02d}.json" for i in range(8)]
GENRES = 250
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
ENDPOINTS = ("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS", "SPOOLBRIDGE_OPENSEARCH__URL")  # all the server is given


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def status_kb(pid: int | str, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def documents(count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """``count`` small documents with their ids, the same every run."""
    rng = random.Random(18)
    for i in range(count):
        yield (
            str(i),
            {
                "genre": f"genre-{int(GENRES * rng.random() ** 2):03d}",  # skewed: low numbers are common
                "n": (i * 7919) % 1_000_003,
                "at": (_EPOCH + timedelta(seconds=i * 37)).isoformat().replace("+00:00", "Z"),
                "source": SOURCES[i % len(SOURCES)],
            },
        )


def ensure_index(client: Any, index: str, count: int) -> None:
    """The index with ``count`` documents: kept when it is already so, else (re)loaded."""
    from opensearchpy import helpers

    if client.indices.exists(index=index):
        client.indices.refresh(index=index)
        if int(client.count(index=index)["count"]) == count:
            say(f"{index}: {count:,} documents already there, not reloaded")
            return
        client.indices.delete(index=index)
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}
    client.indices.create(index=index, body={"settings": settings})
    say(f"loading {count:,} documents into {index} ...")
    started = time.perf_counter()
    actions = ({"_index": index, "_id": i, "_source": d} for i, d in documents(count))
    for ok, item in helpers.parallel_bulk(client, actions, thread_count=2, chunk_size=5000):
        if not ok:
            raise SystemExit(f"bulk failed: {item}")
    client.indices.put_settings(index=index, body={"index": {"refresh_interval": None}})
    client.indices.refresh(index=index)
    loaded = int(client.count(index=index)["count"])
    if loaded != count:
        raise SystemExit(f"{index} holds {loaded:,} documents, not {count:,}")
    say(f"loaded in {time.perf_counter() - started:.0f} s")


def start_web(inbox: Path, work: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``spoolbridge web`` on ``inbox`` with the stack's Kafka and OpenSearch: the process and its address."""
    log = work / "web.log"
    cmd = [sys.executable, "-m", "spoolbridge.cli", "web", "--inbox", str(inbox), "--port", "0"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
    deadline = time.monotonic() + 120
    while not (found := re.search(r"serving (http://127\.0\.0\.1:\d+/)", log.read_text(errors="replace"))):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"spoolbridge web did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process, found.group(1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def quantiles(seconds: list[float]) -> tuple[float, float]:
    """Median and p95 (nearest rank) in milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, -(-95 * len(ordered) // 100) - 1)]
    return ordered[len(ordered) // 2] * 1000, p95 * 1000


def bench_values(url: str, server: subprocess.Popen[bytes], client: Any, index: str, requests: int) -> None:
    from spoolbridge.web.field_stats import top_values
    from spoolbridge.web.mapped_fields import mapped_fields

    properties = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    fields = mapped_fields(properties)
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=120)

    def page(field: str) -> Callable[[], Any]:
        path = "/api/values?" + urlencode({"dataset": DATASET, "field": field})

        def ask() -> Any:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
            return json.loads(body)

        return ask

    def direct(field: str) -> Callable[[], Any]:
        return lambda: top_values(client, [index], {"match_all": {}}, fields[field], size=20)

    rss_before = status_kb(server.pid, "VmRSS")
    say(f"top values (load average {os.getloadavg()[0]:.1f}) ...")
    rows = []
    for field in ("genre", "n"):
        ways = {"page": page(field), "direct": direct(field)}
        client.indices.clear_cache(index=index, request=True)  # the first answer computed, not cached
        started = time.perf_counter()
        answers = {"page": ways["page"]()}
        cold = time.perf_counter() - started
        answers["direct"] = ways["direct"]()
        if answers["page"]["values"] != answers["direct"]["values"]:
            raise SystemExit(f"{field}: the page's values differ from top_values' own")
        times: dict[str, list[float]] = {"page": [], "direct": []}
        for _ in range(requests):
            for name, ask in ways.items():
                started = time.perf_counter()
                ask()
                times[name].append(time.perf_counter() - started)
        distinct = answers["page"]["distinct"]
        first = "GET /api/values, first (request cache cleared)"
        rows.append(f"| {field} ({distinct:,} distinct) | {first} | {cold * 1000:.0f} | |")
        for name, label in (("page", "GET /api/values"), ("direct", "top_values() straight on OpenSearch")):
            median, p95 = quantiles(times[name])
            rows.append(f"| {field} ({distinct:,} distinct) | {label} | {median:.1f} | {p95:.1f} |")
        page_median, direct_median = quantiles(times["page"])[0], quantiles(times["direct"])[0]
        rows.append(f"| {field} | ratio direct / page (medians) | {direct_median / page_median:.2f}x | |")
    connection.close()
    rss_after, peak = status_kb(server.pid, "VmRSS"), status_kb(server.pid, "VmHWM")
    print(f"\n| top values, {requests} requests each, interleaved | how | median ms | p95 ms |")
    print("| --- | --- | ---: | ---: |")
    print("\n".join(rows))
    print(f"\nserver RSS: {rss_before / 1024:.0f} MB before the value requests, "
          f"{rss_after / 1024:.0f} MB after, peak so far (VmHWM) {peak / 1024:.0f} MB")  # fmt: skip


def rows_digest(path: Path) -> tuple[bytes, int, int]:
    """The header line, the number of data lines, and an order-independent sum of their hashes."""
    total, count = 0, 0
    with path.open("rb") as lines:
        header = lines.readline()
        for line in lines:
            total += int.from_bytes(hashlib.blake2b(line, digest_size=8).digest(), "big")
            count += 1
    return header, count, total % (1 << 64)


def reset_peak(pid: int) -> bool:
    """Start the process's ``VmHWM`` afresh from its current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def bench_export(url: str, server: subprocess.Popen[bytes], index: str, docs: int, work: Path) -> None:
    page_csv, scan_csv = work / "page.csv", work / "scan.csv"
    reset = reset_peak(server.pid)
    rss_before = status_kb(server.pid, "VmRSS")
    cpu_before = cpu_seconds(server.pid)
    export_url = url + "api/export?" + urlencode({"dataset": DATASET, "format": "csv"})
    say("export through the page ...")
    load = [os.getloadavg()[0]]
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", str(page_csv), export_url], check=True)
    page_seconds = time.perf_counter() - started
    page_cpu = cpu_seconds(server.pid) - cpu_before
    page_peak = status_kb(server.pid, "VmHWM")
    curl_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    header, page_rows, page_digest = rows_digest(page_csv)
    columns = next(csv.reader([header.decode()]))[1:]

    say("baseline: helpers.scan ...")
    load.append(os.getloadavg()[0])
    cmd = [sys.executable, "-m", "bench.analysis_bench", "--scan-into", str(scan_csv),
           "--index", index, "--columns", ",".join(columns)]  # fmt: skip
    scanned = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
    scan_header, scan_rows, scan_digest = rows_digest(scan_csv)
    if (page_rows, scan_rows) != (docs, docs) or header != scan_header or page_digest != scan_digest:
        raise SystemExit(
            f"the CSVs differ: page {page_rows:,} rows, scan {scan_rows:,} (want {docs:,}); "
            f"same header {header == scan_header}, same lines {page_digest == scan_digest}"
        )
    curl_seconds = curl_cpu.ru_utime + curl_cpu.ru_stime
    size_mb = page_csv.stat().st_size / 1e6
    print(f"\n| CSV export of {docs:,} hits ({size_mb:,.0f} MB, columns _id,{','.join(columns)}) "
          "| seconds | docs/s | CPU s | peak RSS |\n| --- | ---: | ---: | ---: | ---: |")  # fmt: skip
    print(f"| page: GET /api/export, curl to a file | {page_seconds:.1f} | {docs / page_seconds:,.0f} "
          f"| {page_cpu:.1f} (server) + {curl_seconds:.1f} (curl) | {page_peak / 1024:.0f} MB |")  # fmt: skip
    scan_seconds, scan_peak = scanned["seconds"], scanned["peak_kb"] / 1024
    print(f"| helpers.scan + csv.writer (subprocess) | {scan_seconds:.1f} | {docs / scan_seconds:,.0f} "
          f"| {scanned['cpu_seconds']:.1f} | {scan_peak:.0f} MB |")  # fmt: skip
    print(f"| ratio page / scan (docs/s) | {scan_seconds / page_seconds:.2f}x | | | |")
    print(f"load average (1 min): {load[0]:.1f} before the page's export, {load[1]:.1f} before the scan, "
          f"{os.getloadavg()[0]:.1f} after")  # fmt: skip
    peak_note = "since just before the export" if reset else "since the server started (no clear_refs)"
    print(
        f"\nserver RSS {rss_before / 1024:.0f} MB before the export; peak {peak_note}. "
        f"scan subprocess RSS {scanned['rss_start_kb'] / 1024:.0f} MB after its imports. "
        f"Both files: the same header, {docs:,} data rows, the same lines."
    )


def scan_into(path: Path, index: str, columns: list[str], url: str) -> int:
    """The baseline: ``helpers.scan`` of every document of ``index`` (size 1000, index order) into a CSV of
    ``_id`` and ``columns``; prints its seconds, CPU seconds and peak RSS as JSON."""
    from opensearchpy import OpenSearch, helpers

    client = OpenSearch(url, timeout=120)
    rss_start = status_kb("self", "VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["_id", *columns])
        for hit in helpers.scan(client, query={"query": {"match_all": {}}}, index=index, size=1000):
            source = hit["_source"]
            writer.writerow([hit["_id"], *(source.get(c) for c in columns)])
    seconds = time.perf_counter() - started
    report = {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "rss_start_kb": rss_start,
              "peak_kb": status_kb("self", "VmHWM")}  # fmt: skip
    print(json.dumps(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analysis_bench")
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50, help="top-values requests per field and side")
    parser.add_argument("--keep", action="store_true", help="keep the index for the next run")
    parser.add_argument("--scan-into", type=Path, help=argparse.SUPPRESS)  # the baseline's subprocess
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--columns", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ENDPOINTS:
        if name not in os.environ:
            raise SystemExit(f"set {name}")
    url = os.environ["SPOOLBRIDGE_OPENSEARCH__URL"]
    if args.scan_into is not None:
        return scan_into(args.scan_into, args.index, args.columns.split(","), url)

    from opensearchpy import OpenSearch

    from schemas.datasets import Datasets
    from schemas.settings import load_settings

    client = OpenSearch(url, timeout=120)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        inbox = work / "inbox"
        settings = load_settings({"opensearch": {"url": url}, "producer": {"inbox": inbox}})
        index = Datasets(settings).get(DATASET).index
        (inbox / DATASET).mkdir(parents=True)
        (inbox / DATASET / SOURCES[0]).write_text("[]")  # a dataset of the page: a folder with a file
        try:
            ensure_index(client, index, args.docs)
            env = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
            env.update({k: os.environ[k] for k in ENDPOINTS})
            server, page_url = start_web(inbox, work, env)
            try:
                bench_values(page_url, server, client, index, args.requests)
                bench_export(page_url, server, index, args.docs, work)
            finally:
                stop(server)
        finally:
            if not args.keep:
                client.indices.delete(index=index, ignore_unavailable=True)
                say(f"{index} deleted (--keep keeps it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
