"""End-to-end benchmark: drop-to-searchable throughput, latency and memory of a running bridge, beside the
original uploader's method and a direct-bulk upper bound, all in one run on the same node.

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 SPOOLBRIDGE_OPENSEARCH__URL=http://host:9200 \\
        python -m bench.e2e [--repeat 3] [--drops 20]

Datasets (generated once into ``bench/data/``, which git ignores): (a) 100,000 Steam-like records of
1.1-3 KB as one object-of-records ``.json``; (b) 1,000,000 small records of 100-140 B as one JSON Lines file.
For each, per round (rounds interleave the methods; the best round of each is reported):

* **spoolbridge**: ``python -m spoolbridge.cli produce`` and ``... consume`` as two subprocesses with default
  settings, on a fresh topic, index and group. Once both are ready (watching / partitions assigned), the
  files are hard-linked into the inbox under a ``.part`` name and renamed in; the clock runs from the
  rename to the moment a ``_count`` after an explicit refresh sees every document. Peak RSS = each
  process's ``VmHWM`` read just before it is stopped.
* **direct bulk**: ``opensearchpy.helpers.parallel_bulk`` (threads = the consumer's
  ``concurrent_requests``) and ``streaming_bulk``, ``chunk_size``/``max_chunk_bytes`` = the consumer's
  ``max_events``/``max_bytes`` and an orjson serializer (faster than their stdlib default), reading and
  parsing the same files (orjson) into the same kind of index, no Kafka; same ids and ``source`` field;
  the clock runs from the start of reading to the same refreshed ``_count``. The better one is the upper
  bound.
* **original method**: one ``client.index(index, body=record, id=..., refresh=True)`` per document for the
  first ``--original-docs`` records; its rate is extrapolated to the whole dataset.

Then latency: a fresh idle bridge (default settings), ``--drops`` files of 10 Steam-like records renamed
into the inbox one at a time, 1-2 s apart (random, so drops do not lock onto the 1 s refresh cycle); each
is timed from the rename until the index's operation counter includes it (*indexed*) and until ``_count``
does (*searchable*: no refresh from the benchmark, the index's own refresh interval must make them
visible). One unmeasured warm-up drop comes first. Every index (one shard, 0 replicas: the node is a
single node) and topic is deleted afterwards. Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka.admin import AdminClient
from opensearchpy import JSONSerializer, OpenSearch, helpers
from opensearchpy.exceptions import NotFoundError

from consumer.index import ensure_index
from examples.generate_steam_sample import FileFormat, SizeClass, encode_record, generate, make_record
from schemas.ids import default_id
from schemas.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
POLL_SECS = 0.05
LATENCY_POLL_SECS = 0.02
READY_TIMEOUT_SECS = 120.0
LOAD_TIMEOUT_SECS = 1800.0
TMP_PREFIX = "e2e-tmp-"


@dataclass(frozen=True)
class Dataset:
    key: str
    title: str
    records: int
    size: SizeClass
    fmt: FileFormat

    def paths(self) -> list[Path]:
        folder = DATA / f"e2e-{self.key}-{self.records}"
        found = sorted(p for p in folder.glob("games-*.json*") if not p.name.endswith(".part"))
        if not found:
            print(f"generating {self.records:,} {self.size} records into {folder} ...", file=sys.stderr)
            generate(folder, self.records, fmt=self.fmt, size=self.size)
            found = sorted(folder.glob("games-*.json*"))
        return found


DATASETS = (
    Dataset("steam", "(a) Steam-like 1.1-3 KB, object of records", 100_000, "steam", "object"),
    Dataset("small", "(b) small 100-140 B, JSON Lines", 1_000_000, "small", "jsonl"),
)


@dataclass
class Result:
    label: str
    docs: int
    secs: float
    note: str = ""
    load: float = 0.0
    rss_mb: tuple[float, float] | None = None  # producer, consumer

    @property
    def rate(self) -> float:
        return self.docs / self.secs


@dataclass
class Bench:
    """What every run shares: settings, clients, the names it created (deleted at the end)."""

    settings: Settings
    client: OpenSearch
    admin: AdminClient
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    topics: list[str] = field(default_factory=list)
    indices: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    count: int = 0

    def name(self, label: str) -> str:
        self.count += 1
        return f"bench-e2e-{label}-{self.run_id}-{self.count}"

    def fresh_index(self, name: str) -> None:
        ensure_index(self.client, name, self.settings.opensearch)
        self.indices.append(name)

    def cleanup(self) -> None:
        for index in self.indices:
            with contextlib.suppress(Exception):
                self.client.indices.delete(index=index)
        self.indices.clear()
        if self.topics:
            for future in self.admin.delete_topics(self.topics).values():
                with contextlib.suppress(Exception):  # the DLQ topic may not exist
                    future.result(30)
            self.topics.clear()
        if self.groups:
            for future in self.admin.delete_consumer_groups(self.groups).values():
                with contextlib.suppress(Exception):
                    future.result(30)
            self.groups.clear()


# --- reading the files like the bridge does (same ids, same source field) --------------------------------


def iter_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(position, record) of a generated file: line number for JSON Lines, key for objects, else index."""
    if path.suffix in (".jsonl", ".ndjson"):
        with open(path, "rb") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield str(number), orjson.loads(line)
        return
    data = orjson.loads(path.read_bytes())
    pairs = data.items() if isinstance(data, dict) else enumerate(data)
    for position, record in pairs:
        yield str(position), record


def documents(paths: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, record with its ``source`` field) as the producer would make them, file by file."""
    for path in paths:
        source = path.name
        for position, record in iter_records(path):
            record["source"] = source
            yield default_id(source, position), record


def wait_searchable(client: OpenSearch, index: str, expected: int, timeout_secs: float) -> float:
    """Poll the index's indexing counter (cheap, no refresh) until it reaches ``expected``, then refresh
    and count; returns the clock time at which a refreshed count first saw every document."""
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        try:
            stats = client.indices.stats(index=index, metric="indexing")
        except NotFoundError:  # a dataset's index is created by the consumer's first request to it
            time.sleep(POLL_SECS)
            continue
        if stats["_all"]["primaries"]["indexing"]["index_total"] >= expected:
            client.indices.refresh(index=index)
            count = int(client.count(index=index)["count"])
            if count >= expected:
                if count != expected:
                    raise SystemExit(f"{index}: {count} documents for {expected} records")
                return time.perf_counter()
        time.sleep(POLL_SECS)
    raise SystemExit(f"{index}: not all {expected} documents searchable after {timeout_secs:.0f} s")


class OrjsonSerializer(JSONSerializer):
    """opensearch-py's serializer with orjson instead of the stdlib ``json`` module (several times faster
    for these documents): the helpers' strongest configuration, so the upper bound is a real one."""

    def dumps(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        return orjson.dumps(data, default=self.default).decode()


# --- the bridge as two processes ---------------------------------------------------------------------------


class Bridge:
    """``produce`` and ``consume`` subprocesses on a fresh topic/index/group, logs in ``workdir``."""

    def __init__(self, bench: Bench, label: str, workdir: Path) -> None:
        self.bench = bench
        self.name = bench.name(label)
        self.inbox = workdir / "inbox"
        self.inbox.mkdir(parents=True)
        self.workdir = workdir
        bench.topics += [self.name, f"{self.name}.dlq"]
        bench.indices.append(self.name)
        self.datasets: list[str] = []
        bench.groups.append(self.name)
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS": "0"}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        # the producer creates the topic, so it starts first; the consumer then joins the group
        self._spawn("produce", ["--inbox", str(self.inbox), "--topic", self.name], "event=watching")
        consume = ["--topic", self.name, "--index", self.name, "--group", self.name]
        self._spawn("consume", consume, "partitions assigned")

    def _spawn(self, command: str, flags: list[str], ready_text: str) -> None:
        log = self.workdir / f"{command}.log"
        argv = [sys.executable, "-m", "spoolbridge.cli", command, *flags]
        with open(log, "wb") as out:
            self.processes[command] = subprocess.Popen(argv, env=self.env, stdout=out, stderr=out, cwd=REPO)
        deadline = time.monotonic() + READY_TIMEOUT_SECS
        while ready_text not in log.read_text(errors="replace"):
            if self.processes[command].poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{command} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)

    def dataset(self, label: str) -> str:
        """A dataset of this bridge (a folder of the inbox; its index has the same name)."""
        name = self.bench.name(label)
        self.datasets.append(name)
        self.bench.topics += [f"{self.name}.{name}", f"{self.name}.{name}.dlq"]
        self.bench.indices.append(name)
        (self.inbox / name).mkdir()
        return name

    def drop(self, files: list[Path], folder: str | None = None) -> float:
        """Copy ``files`` in (into the dataset ``folder``, if given) under temporary names, then
        rename them in; returns the clock before."""
        return self.drop_into([(path, folder) for path in files])

    def drop_into(self, files: list[tuple[Path, str | None]]) -> float:
        """:meth:`drop` for files bound for several folders at once (copied under temporary names before
        the clock starts: the producer refuses a file with a second hard link)."""
        parts = []
        for path, folder in files:
            part = self.inbox / (folder or "") / f"{path.name}.part"
            shutil.copyfile(path, part)
            parts.append(part)
        started = time.perf_counter()
        for part in parts:
            os.rename(part, part.with_suffix(""))
        return started

    def save_logs(self) -> None:
        """Keep the processes' logs of a failed run (the temporary folder is about to go)."""
        kept = DATA / "e2e-failed-logs" / self.name
        kept.mkdir(parents=True, exist_ok=True)
        for log in self.workdir.glob("*.log"):
            shutil.copy(log, kept / log.name)
        print(f"logs of the failed run: {kept}", file=sys.stderr)

    def peak_rss_mb(self) -> tuple[float, float]:
        return _vm_hwm_mb(self.processes["produce"].pid), _vm_hwm_mb(self.processes["consume"].pid)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for command, process in self.processes.items():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                print(f"{command} did not stop on SIGTERM; killing it", file=sys.stderr)
                process.kill()
                process.wait()


def _vm_hwm_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


# --- the runs --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_bridge(bench: Bench, label: str) -> Iterator[Bridge]:
    """A started bridge in a temporary folder; stopped (its logs kept if the run failed) and its topics,
    index and group deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix=TMP_PREFIX, dir=DATA) as tmp:
        bridge = Bridge(bench, label, Path(tmp))
        try:
            bridge.start()
            yield bridge
        except BaseException:
            bridge.stop()
            bridge.save_logs()
            raise
        finally:
            bridge.stop()
    bench.cleanup()


def run_spoolbridge(bench: Bench, dataset: Dataset, *, in_dataset: bool = False) -> Result:
    """``in_dataset``: the file is dropped into a dataset folder (its own topic and index) instead of the
    inbox itself (the default dataset)."""
    paths = dataset.paths()
    load = os.getloadavg()[0]
    with running_bridge(bench, dataset.key) as bridge:
        folder = bridge.dataset(dataset.key) if in_dataset else None
        started = bridge.drop(paths, folder)
        finished = wait_searchable(bench.client, folder or bridge.name, dataset.records, LOAD_TIMEOUT_SECS)
        rss = bridge.peak_rss_mb()
    note = f"producer {rss[0]:.0f} MB, consumer {rss[1]:.0f} MB peak RSS"
    return Result("spoolbridge", dataset.records, finished - started, note, load, rss)


def run_direct(bench: Bench, dataset: Dataset, *, parallel: bool) -> Result:
    paths = dataset.paths()
    cfg = bench.settings.consumer
    label = "parallel_bulk" if parallel else "streaming_bulk"
    name = bench.name(label.replace("_", "-"))
    bench.fresh_index(name)
    kwargs = bench.settings.opensearch.client_kwargs()
    client = OpenSearch(**kwargs, pool_maxsize=cfg.concurrent_requests, serializer=OrjsonSerializer())
    load = os.getloadavg()[0]
    started = time.perf_counter()
    actions = ({"_index": name, "_id": doc_id, "_source": doc} for doc_id, doc in documents(paths))
    if parallel:
        results = helpers.parallel_bulk(
            client, actions, thread_count=cfg.concurrent_requests, chunk_size=cfg.max_events,
            max_chunk_bytes=cfg.max_bytes,
        )  # fmt: skip
    else:
        results = helpers.streaming_bulk(
            client, actions, chunk_size=cfg.max_events, max_chunk_bytes=cfg.max_bytes
        )
    failed = sum(1 for ok, _ in results if not ok)
    if failed:
        raise SystemExit(f"{label}: {failed} documents failed")
    finished = wait_searchable(bench.client, name, dataset.records, LOAD_TIMEOUT_SECS)
    bench.cleanup()
    threads = f"thread_count={cfg.concurrent_requests}, " if parallel else ""
    note = f"{threads}chunk_size={cfg.max_events}, orjson serializer"
    return Result(label, dataset.records, finished - started, note, load)


def run_original(bench: Bench, dataset: Dataset, sample: int) -> Result:
    """The original uploader: ``index(..., refresh=True)`` per record; the rate is extrapolated."""
    paths = dataset.paths()
    docs = list(islice(documents(paths[:1]), sample))  # parsing is not timed here (it is tiny per doc)
    name = bench.name("original")
    bench.fresh_index(name)
    client = OpenSearch(**bench.settings.opensearch.client_kwargs())
    load = os.getloadavg()[0]
    started = time.perf_counter()
    for doc_id, doc in docs:
        client.index(index=name, body=doc, id=doc_id, refresh=True)
    secs = time.perf_counter() - started
    bench.cleanup()
    rate = len(docs) / secs
    note = f"extrapolated from {len(docs):,} documents ({rate:,.0f} docs/s)"
    return Result(
        "original: index(refresh=True) per doc", dataset.records, dataset.records / rate, note, load
    )


@dataclass
class Latency:
    """Per drop: seconds from the rename to indexed (the index's operation counter, no refresh needed)
    and to searchable (``_count`` includes it)."""

    indexed: list[float] = field(default_factory=list)
    searchable: list[float] = field(default_factory=list)
    load: float = 0.0


def small_file(path: Path, first: int, records: int = 10) -> int:
    """Write ``records`` Steam-like records as an object-of-records file; returns how many."""
    pairs = (make_record(first + i) for i in range(records))
    path.write_bytes(b"{" + b",".join(orjson.dumps(k) + b":" + encode_record(r) for k, r in pairs) + b"}")
    return records


def measure_latency(bench: Bench, drops: int) -> Latency:
    """Drop ``drops`` 10-record files into an idle bridge, one at a time; the benchmark never refreshes.

    The pause between drops is random (1-2 s): a fixed pause would lock the drops to the same phase of
    the index's 1 s refresh cycle and measure one point of it instead of its spread.
    """
    result = Latency(load=os.getloadavg()[0])
    pauses = random.Random(7)
    with tempfile.TemporaryDirectory(prefix=TMP_PREFIX, dir=DATA) as tmp:
        source = Path(tmp) / "drops"
        source.mkdir()
        bridge = Bridge(bench, "latency", Path(tmp) / "bridge")
        try:
            bridge.start()
            expected = 0
            for number in range(drops + 1):  # drop 0 warms up and is not counted
                path = source / f"drop-{number:03d}.json"
                expected += small_file(path, number * 10)
                started = bridge.drop([path])
                indexed = _wait_latency(bench.client, bridge.name, expected, started)
                if number:
                    result.indexed.append(indexed[0])
                    result.searchable.append(indexed[1])
                    print(f"  drop {number}: indexed {indexed[0]:.2f} s, searchable {indexed[1]:.2f} s",
                          file=sys.stderr)  # fmt: skip
                time.sleep(pauses.uniform(1.0, 2.0))  # idle again before the next drop
        except BaseException:
            bridge.stop()
            bridge.save_logs()
            raise
        finally:
            bridge.stop()
    bench.cleanup()
    return result


def _wait_latency(client: OpenSearch, index: str, expected: int, started: float) -> tuple[float, float]:
    indexed: float | None = None
    while True:
        now = time.perf_counter()
        if now - started > 60:
            raise SystemExit(f"{index}: a drop was not searchable after 60 s")
        if indexed is None:
            stats = client.indices.stats(index=index, metric="indexing")
            if stats["_all"]["primaries"]["indexing"]["index_total"] >= expected:
                indexed = now - started
        if int(client.count(index=index)["count"]) >= expected:
            return (indexed if indexed is not None else now - started), now - started
        time.sleep(LATENCY_POLL_SECS)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


# --- main ------------------------------------------------------------------------------------------------

THREE = (
    Dataset("three-steam", "Steam-like, object of records", 30_000, "steam", "object"),
    Dataset("three-array", "Steam-like, array", 20_000, "steam", "array"),
    Dataset("three-small", "small, JSON Lines", 300_000, "small", "jsonl"),
)


THREE_TOGETHER = Dataset(
    "three",
    "(c) three datasets at once: 30k Steam-like object, 20k Steam-like array, 300k small JSON Lines",
    sum(d.records for d in THREE),
    "steam",
    "object",
)


def run_three_together(bench: Bench) -> Result:
    """Three datasets dropped at the same moment into one running bridge; the clock stops when the last
    of the three indices has every document."""
    load = os.getloadavg()[0]
    paths = {d: d.paths() for d in THREE}
    with running_bridge(bench, "three") as bridge:
        folders = {d: bridge.dataset(d.key) for d in THREE}
        started = bridge.drop_into([(p, folder) for d, folder in folders.items() for p in paths[d]])
        finished = max(
            wait_searchable(bench.client, folder, d.records, LOAD_TIMEOUT_SECS)
            for d, folder in folders.items()
        )
        rss = bridge.peak_rss_mb()
    docs = sum(d.records for d in THREE)
    return Result("spoolbridge, 3 datasets at once", docs, finished - started, "one bridge", load, rss)


def run_three_direct(bench: Bench) -> Result:
    """The same records in three direct-bulk runs one after the other (the better helper for each)."""
    load = os.getloadavg()[0]
    secs = 0.0
    for dataset in THREE:
        secs += min(run_direct(bench, dataset, parallel=p).secs for p in (True, False))
    docs = sum(d.records for d in THREE)
    return Result("direct bulk, 3 runs in a row", docs, secs, "best helper per dataset", load)


def three_datasets(bench: Bench, repeat: int) -> list[Result]:
    best: dict[str, Result] = {}
    for round_ in range(repeat):
        for run in (run_three_together, run_three_direct):
            result = run(bench)
            print(
                f"three round {round_ + 1}: {result.label} {result.rate:,.0f} docs/s ({result.secs:.2f} s, "
                f"load {result.load:.1f})", file=sys.stderr, flush=True,
            )  # fmt: skip
            if result.label not in best or result.rate > best[result.label].rate:
                best[result.label] = result
    return list(best.values())


Runner = Callable[[Bench, Dataset], Result]


METHODS = ("spoolbridge", "spoolbridge-dataset", "parallel_bulk", "streaming_bulk", "original")


def throughput(
    bench: Bench, dataset: Dataset, repeat: int, sample: int, methods: set[str] | None = None
) -> list[Result]:
    runners: dict[str, Runner] = {
        "spoolbridge": run_spoolbridge,
        "spoolbridge-dataset": lambda b, d: run_spoolbridge(b, d, in_dataset=True),
        "parallel_bulk": lambda b, d: run_direct(b, d, parallel=True),
        "streaming_bulk": lambda b, d: run_direct(b, d, parallel=False),
        "original": lambda b, d: run_original(b, d, sample),
    }
    best: dict[str, Result] = {}
    peak = (0.0, 0.0)  # the highest peak RSS of any round, not only the fastest one's
    for round_ in range(repeat):
        for method, run in runners.items():
            if methods is not None and method not in methods:
                continue
            result = run(bench, dataset)
            result.label = method if method.startswith("spoolbridge") else result.label
            print(
                f"{dataset.key} round {round_ + 1}: {result.label} {result.rate:,.0f} docs/s "
                f"({result.secs:.2f} s, load {result.load:.1f}) {result.note}",
                file=sys.stderr, flush=True,
            )  # fmt: skip
            if result.rss_mb is not None:
                peak = (max(peak[0], result.rss_mb[0]), max(peak[1], result.rss_mb[1]))
            if result.label not in best or result.rate > best[result.label].rate:
                best[result.label] = result
    if "spoolbridge" in best:
        best["spoolbridge"].rss_mb = peak
    return list(best.values())


def print_tables(results: dict[Dataset, list[Result]], latency: Latency) -> None:
    print("| dataset | run | docs | seconds | docs/s | spoolbridge ÷ this | load avg | notes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for dataset, rows in results.items():
        ours = next((r for r in rows if r.label.startswith("spoolbridge")), rows[0])
        for row in rows:
            print(
                f"| {dataset.title} | {row.label} | {row.docs:,} | {row.secs:,.2f} | {row.rate:,.0f} | "
                f"{ours.rate / row.rate:.2f}x | {row.load:.1f} | {row.note} |"
            )
    print()
    print("| dataset | producer peak RSS (highest round) | consumer peak RSS (highest round) |")
    print("| --- | ---: | ---: |")
    for dataset, rows in results.items():
        rss = next((r.rss_mb for r in rows if r.rss_mb is not None), (0.0, 0.0))
        print(f"| {dataset.title} | {rss[0]:.0f} MB | {rss[1]:.0f} MB |")
    if latency.searchable:
        print()
        print("| drops | stage | p50 | p95 | min | max | load avg |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for stage, values in (("indexed", latency.indexed), ("searchable", latency.searchable)):
            print(
                f"| {len(values)} | {stage} | {percentile(values, 0.5):.2f} s | "
                f"{percentile(values, 0.95):.2f} s | {min(values):.2f} s | {max(values):.2f} s | "
                f"{latency.load:.1f} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.e2e", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds per dataset; the best of each is shown")
    parser.add_argument("--drops", type=int, default=20, help="latency drops (after one warm-up drop)")
    parser.add_argument("--original-docs", type=int, default=1000, help="sample for the original method")
    parser.add_argument(
        "--only",
        choices=[d.key for d in DATASETS] + ["three", "latency"],
        action="append",
        help="parts to run",
    )
    parser.add_argument("--method", choices=METHODS, action="append", help="throughput runs to do")
    args = parser.parse_args(argv)
    settings = load_settings({"opensearch": {"number_of_replicas": 0}})
    if settings.kafka.bootstrap_servers is None or settings.opensearch.url is None:
        raise SystemExit("set SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS and SPOOLBRIDGE_OPENSEARCH__URL")
    bench = Bench(
        settings,
        OpenSearch(**settings.opensearch.client_kwargs()),
        AdminClient(dict(settings.kafka.client_config())),
    )
    only = set(args.only or [d.key for d in DATASETS] + ["three", "latency"])
    results: dict[Dataset, list[Result]] = {}
    latency = Latency()
    try:
        for dataset in DATASETS:
            if dataset.key in only:
                results[dataset] = throughput(
                    bench, dataset, args.repeat, args.original_docs, set(args.method or METHODS)
                )
        if "three" in only:
            results[THREE_TOGETHER] = three_datasets(bench, args.repeat)
        if "latency" in only:
            latency = measure_latency(bench, args.drops)
    finally:
        bench.cleanup()
        for leftover in DATA.glob(f"{TMP_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
    print_tables(results, latency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
