"""The whole ledger under a seeded random mix of drops, replacements, kill -9 of the producer and of the
consumer, dead-letter-causing records and a fix with a replay, on the real Kafka and OpenSearch.

At quiescence (``status --wait``, exit code 0) the index's ``_id`` set (a full scroll) is exactly the
model's, and ``status --json`` balances per file and says ``settled``. The seed is in every assertion
message; ``SPOOLBRIDGE_TEST_SEED=<n>`` runs that sequence again, ``=random`` draws a new one.

Records that dead-letter: ``price`` as an object (the index maps it as a number: refused for good) and a
field ``extra`` the strict mapping lacks until the fix adds it (``dlq replay`` then indexes their letters).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import Endpoints
from tests.integration.consumer.conftest import index_ids
from tests.integration.endpoint_helpers import REPO
from tests.integration.producer.conftest import read_topic

pytestmark = pytest.mark.integration

STRICT_FIELDS = {"source": {"type": "keyword"}, "v": {"type": "long"}, "n": {"type": "long"},
                 "price": {"type": "long"}}  # fmt: skip
STEPS = 10
# A fixed default keeps the suite's result reproducible: it drops, replaces, kills both processes and
# fixes and replays. SPOOLBRIDGE_TEST_SEED=random draws one (printed), any number replays that sequence.
# Seed 6 replays after an id's letters of two versions were superseded by a third (once a failure).
DEFAULT_SEED = 5
WAIT_SECS = 60


def index_body(*, fixed: bool) -> dict[str, Any]:
    fields = {**STRICT_FIELDS, "extra": {"type": "keyword"}} if fixed else STRICT_FIELDS
    return {"mappings": {"dynamic": "strict", "properties": fields}}


@dataclass
class Model:
    """What the index and the dead-letter topic must hold, applied one settled file version at a time.

    ``held``: the ids the index holds. A complete version deletes the ids its file had and it lacks; a
    record the index refuses leaves what the id held (an earlier version's document stays searchable).
    ``letters``: per outstanding id, the record of its latest letter; ``dlq replay`` sends that record again.
    A version that settles supersedes every letter of its file's earlier versions: it produced the id
    again (indexed, or a newer letter) or deleted it.
    """

    fixed: bool = False
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # id -> file
    letters: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # id -> (file, record)
    versions: int = 0

    def refused(self, record: dict[str, Any]) -> bool:
        return isinstance(record["price"], dict) or ("extra" in record and not self.fixed)

    def apply(self, name: str, rows: list[dict[str, Any]]) -> None:
        ids = {f"{name}:{line}": row for line, row in enumerate(rows, 1)}
        for old in [i for i, source in self.held.items() if source == name and i not in ids]:
            del self.held[old]
        for old in [i for i, (source, _) in self.letters.items() if source == name and i not in ids]:
            del self.letters[old]
        for doc_id, row in ids.items():
            if self.refused(row):
                self.letters[doc_id] = (name, row)
            else:
                self.held[doc_id] = name
                self.letters.pop(doc_id, None)
        self.files[name] = rows

    def replay(self) -> None:
        for doc_id, (name, row) in list(self.letters.items()):
            if not self.refused(row):
                del self.letters[doc_id]
                self.held[doc_id] = name

    def indexed(self, name: str) -> int:
        return sum(1 for source in self.held.values() if source == name)

    def dead_lettered(self, name: str) -> int:
        return sum(1 for source, _ in self.letters.values() if source == name)


def records(rng: random.Random, version: int, count: int, *, fixed: bool) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    for n in range(count):
        record: dict[str, Any] = {"v": version, "n": n, "price": n}
        roll = rng.random()
        if roll < 0.05:
            record["price"] = {"amount": n}  # the mapping says long: refused for good
        elif roll < 0.10 and not fixed:
            record["extra"] = "x"  # strict mapping: refused until the fix adds the field
        made.append(record)
    return made


def write_atomically(path: Path, rows: list[dict[str, Any]]) -> bytes:
    data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    temp = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
    temp.write_bytes(data)
    os.rename(temp, path)
    return data


class Cluster:
    """The producer and the consumer as real processes, started and killed by pid."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started = 0

    def start(self, role: str) -> None:
        self.started += 1
        with (self.logs / f"{role}-{self.started}.log").open("wb") as log:
            self.procs[role] = subprocess.Popen(
                [sys.executable, "-m", "spoolbridge.cli", "produce" if role == "producer" else "consume"],
                env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self, role: str) -> None:
        proc = self.procs.pop(role)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def alive(self) -> list[str]:
        return [f"{role} exited {p.returncode}" for role, p in self.procs.items() if p.poll() is not None]

    def stop_all(self) -> None:
        for role in list(self.procs):
            proc = self.procs.pop(role)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(30)


@pytest.fixture
def cluster(endpoints: Endpoints, unique_name: Callable[[str], str], tmp_path: Path) -> Iterator[Cluster]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    body = tmp_path / "index-body.json"
    body.write_text(json.dumps(index_body(fixed=False)))
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__TOPIC=unique_name("ledger"),
        SPOOLBRIDGE_KAFKA__PARTITIONS="1",  # one partition: every record of an id in order, as in production
        SPOOLBRIDGE_CONSUMER__GROUP=unique_name("g"),
        SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS="0",
        SPOOLBRIDGE_OPENSEARCH__INDEX_BODY_FILE=str(body),
        SPOOLBRIDGE_PRODUCER__INBOX=str(inbox),
        SPOOLBRIDGE_PRODUCER__SETTLE_MS="50",
        PYTHONPATH=str(REPO),
    )
    running = Cluster(env, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout, check=False,
    )  # fmt: skip


class Driver:
    """One seeded sequence of steps against the cluster, keeping the model."""

    def __init__(self, seed: int, cluster: Cluster) -> None:
        self.seed, self.rng, self.cluster = seed, random.Random(seed), cluster
        self.model = Model()
        self.inbox = Path(cluster.env["SPOOLBRIDGE_PRODUCER__INBOX"])
        self.body = Path(cluster.env["SPOOLBRIDGE_OPENSEARCH__INDEX_BODY_FILE"])
        self.history: list[str] = []
        self.pending: tuple[str, bytes] | None = None

    def why(self) -> str:
        return f"seed {self.seed} (SPOOLBRIDGE_TEST_SEED={self.seed}), steps: {'; '.join(self.history)}"

    def drop(self, name: str, count: int) -> None:
        self.model.versions += 1
        rows = records(self.rng, self.model.versions, count, fixed=self.model.fixed)
        data = write_atomically(self.inbox / name, rows)
        self.model.apply(name, rows)
        self.history.append(f"drop {name} v{self.model.versions} ({count} records)")
        self.pending = (name, data)

    def settle_read(self) -> None:
        """Wait until the producer moved the last version dropped to done/: each version is read whole
        before the next one replaces it, so the model knows which versions reached Kafka."""
        if self.pending is None:
            return
        name, data = self.pending
        manifest = self.inbox / "done" / f"{name}.manifest.json"
        sha256 = hashlib.sha256(data).hexdigest()
        deadline = time.monotonic() + WAIT_SECS
        while True:
            try:
                if (
                    not (self.inbox / name).exists()
                    and orjson.loads(manifest.read_bytes())["sha256"] == sha256
                ):
                    break
            except (OSError, orjson.JSONDecodeError):
                pass
            assert time.monotonic() < deadline, f"{name} was not read\n{self.why()}"
            time.sleep(0.05)
        self.pending = None

    def new_file(self) -> None:
        self.drop(f"f{len(self.model.files)}.jsonl", self.rng.randint(50, 400))

    def replace_file(self) -> None:
        if not self.model.files:
            return self.new_file()
        name = self.rng.choice(sorted(self.model.files))
        self.drop(name, self.rng.randint(20, 500))  # fewer or more records, different ones

    def kill_producer_mid_read(self) -> None:
        self.drop(f"f{len(self.model.files)}.jsonl", self.rng.randint(2000, 4000))  # big: killed mid-read
        time.sleep(self.rng.uniform(0.05, 0.6))
        self.cluster.kill("producer")
        self.cluster.start("producer")
        self.history.append("kill -9 producer, restart")

    def kill_consumer(self) -> None:
        time.sleep(self.rng.uniform(0.0, 1.0))
        self.cluster.kill("consumer")
        self.cluster.start("consumer")
        self.history.append("kill -9 consumer, restart")

    def fix_and_replay(self) -> None:
        if self.model.fixed:
            return self.replace_file()
        self.quiesce()  # every letter written before the fix; none of its records indexed after it
        self.body.write_text(json.dumps(index_body(fixed=True)))
        replayed = cli(self.cluster.env, "dlq", "replay")
        assert replayed.returncode == 0, f"{replayed.stderr}\n{self.why()}"
        self.model.fixed = True
        self.model.replay()
        self.history.append("fix the mapping, dlq replay")

    def quiesce(self) -> dict[str, Any]:
        waited = cli(self.cluster.env, "status", "--wait", str(WAIT_SECS), timeout=WAIT_SECS + 60)
        assert waited.returncode == 0, f"status --wait: {waited.returncode}\n{waited.stdout}\n{self.why()}"
        assert not self.cluster.alive(), f"{self.cluster.alive()}\n{self.why()}"
        shown = cli(self.cluster.env, "status", "--json")
        assert shown.returncode == 0, f"{shown.stderr}\n{self.why()}"
        report: dict[str, Any] = json.loads(shown.stdout)
        return report

    def step(self) -> None:
        actions = [self.new_file, self.replace_file, self.replace_file, self.kill_producer_mid_read,
                   self.kill_consumer, self.fix_and_replay]  # fmt: skip
        self.rng.choice(actions)()
        self.settle_read()


def assert_ledger(driver: Driver, report: dict[str, Any], client: Any) -> None:
    why, model = driver.why(), driver.model
    assert report["settled"] is True, f"{report}\n{why}"
    got = set(index_ids(client, driver.cluster.env["SPOOLBRIDGE_KAFKA__TOPIC"]))
    want = set(model.held)
    assert got == want, f"extra ids {sorted(got - want)[:20]}, missing {sorted(want - got)[:20]}\n{why}"
    (dataset,) = report["datasets"]
    rows = {row["source"]: row for row in dataset["sources"]}
    assert set(rows) == set(model.files), f"{sorted(rows)}\n{why}"
    for name, records_of in model.files.items():
        row = rows[name]
        terms = {
            k: row[k] for k in ("state", "produced", "superseded", "rejected", "indexed", "dead_lettered")
        }
        wanted = {"state": "done", "produced": len(records_of), "superseded": 0, "rejected": 0,
                  "indexed": model.indexed(name), "dead_lettered": model.dead_lettered(name)}  # fmt: skip
        assert terms == wanted, f"{name}: {terms} != {wanted}\n{letters_apart(driver, name)}\n{why}"
        assert row["indexed"] + row["dead_lettered"] >= row["produced"] - row["superseded"], f"{name}\n{why}"


def letters_apart(driver: Driver, name: str) -> str:
    """The dead-letter topic's events of the ids where it and the model may disagree (for the message)."""
    topic = f"{driver.cluster.env['SPOOLBRIDGE_KAFKA__TOPIC']}.dlq"
    bootstrap = driver.cluster.env["SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS"]
    events: dict[str, list[str]] = {}
    for message in read_topic(bootstrap, topic):
        kind = "mark" if not message.raw else f"letter {message.raw[:60]!r}"
        events.setdefault(message.key, []).append(kind)
    lettered = {i for i, (source, _) in driver.model.letters.items() if source == name}
    odd = {
        i: e
        for i, e in events.items()
        if i.startswith(f"{name}:") and (i in lettered) != e[-1].startswith("letter")
    }
    return f"ids whose last event disagrees with the model: {odd}"


@pytest.mark.timeout(240)
def test_the_ledger_balances_after_a_random_mix_of_drops_replacements_kills_and_replays(
    cluster: Cluster, opensearch_client: Any
) -> None:
    chosen = os.environ.get("SPOOLBRIDGE_TEST_SEED") or str(DEFAULT_SEED)
    seed = random.randrange(2**32) if chosen == "random" else int(chosen)
    print(f"seed {seed}")
    driver = Driver(seed, cluster)
    cluster.start("producer")
    cluster.start("consumer")
    driver.new_file()  # a first file: the dataset exists before any step needs it
    driver.settle_read()
    for _ in range(STEPS):
        driver.step()
    assert_ledger(driver, driver.quiesce(), opensearch_client)
    print(driver.why())
