"""The whole ledger under a seeded random mix of drops, replacements, kill -9 of the producer and of the
consumer, dead-letter-causing records and a fix with a replay, on the real Kafka and OpenSearch.

At quiescence (``status --wait``, exit code 0) the index's ``_id`` set (a full scroll) is exactly the
model's, and ``status --json`` balances per file and says ``settled``. The seed is in every assertion
message; ``SPOOLBRIDGE_TEST_SEED=<n>`` runs that sequence again.

Records that dead-letter: ``price`` as an object (the index maps it as a number: refused for good) and a
field ``extra`` the strict mapping lacks until the fix adds it (``dlq replay`` then indexes their letters).
"""

from __future__ import annotations

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

pytestmark = pytest.mark.integration

STRICT_FIELDS = {"source": {"type": "keyword"}, "v": {"type": "long"}, "n": {"type": "long"},
                 "price": {"type": "long"}}  # fmt: skip
STEPS = 10
WAIT_SECS = 60


def index_body(*, fixed: bool) -> dict[str, Any]:
    fields = {**STRICT_FIELDS, "extra": {"type": "keyword"}} if fixed else STRICT_FIELDS
    return {"mappings": {"dynamic": "strict", "properties": fields}}


@dataclass
class Model:
    """What the index and the ledger must hold: the last complete version of every file."""

    fixed: bool = False
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    versions: int = 0

    def refused(self, record: dict[str, Any]) -> bool:
        return isinstance(record["price"], dict) or ("extra" in record and not self.fixed)

    def expected_ids(self) -> dict[str, set[str]]:
        return {
            name: {f"{name}:{line}" for line, r in enumerate(records, 1) if not self.refused(r)}
            for name, records in self.files.items()
        }


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


def write_atomically(path: Path, rows: list[dict[str, Any]]) -> None:
    temp = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
    temp.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    os.rename(temp, path)


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

    def why(self) -> str:
        return f"seed {self.seed} (SPOOLBRIDGE_TEST_SEED={self.seed}), steps: {'; '.join(self.history)}"

    def drop(self, name: str, count: int) -> None:
        self.model.versions += 1
        rows = records(self.rng, self.model.versions, count, fixed=self.model.fixed)
        write_atomically(self.inbox / name, rows)
        self.model.files[name] = rows
        self.history.append(f"drop {name} v{self.model.versions} ({count} records)")

    def new_file(self) -> None:
        self.drop(f"f{len(self.model.files)}.jsonl", self.rng.randint(50, 400))

    def replace_file(self) -> None:
        if not self.model.files:
            return self.new_file()
        name = self.rng.choice(sorted(self.model.files))
        self.drop(name, self.rng.randint(20, 500))  # fewer or more records, different ones

    def kill_producer_mid_read(self) -> None:
        self.drop(f"f{len(self.model.files)}.jsonl", self.rng.randint(3000, 8000))  # big: killed mid-read
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


def assert_ledger(driver: Driver, report: dict[str, Any], client: Any) -> None:
    why = driver.why()
    assert report["settled"] is True, f"{report}\n{why}"
    index = driver.cluster.env["SPOOLBRIDGE_KAFKA__TOPIC"]
    expected = driver.model.expected_ids()
    got = set(index_ids(client, index))
    want = set().union(*expected.values())
    assert got == want, f"extra ids {sorted(got - want)[:20]}, missing {sorted(want - got)[:20]}\n{why}"
    (dataset,) = report["datasets"]
    rows = {row["source"]: row for row in dataset["sources"]}
    assert set(rows) == set(expected), f"{sorted(rows)}\n{why}"
    for name, records_of in driver.model.files.items():
        row = rows[name]
        refused = sum(1 for r in records_of if driver.model.refused(r))
        terms = {k: row[k] for k in ("state", "produced", "superseded", "rejected", "indexed", "dead_lettered")}
        wanted = {"state": "done", "produced": len(records_of), "superseded": 0, "rejected": 0,
                  "indexed": len(expected[name]), "dead_lettered": refused}  # fmt: skip
        assert terms == wanted, f"{name}: {terms} != {wanted}\n{why}"
        assert row["indexed"] + row["dead_lettered"] == row["produced"] - row["superseded"], f"{name}\n{why}"


@pytest.mark.timeout(240)
def test_the_ledger_balances_after_a_random_mix_of_drops_replacements_kills_and_replays(
    cluster: Cluster, opensearch_client: Any
) -> None:
    seed = int(os.environ.get("SPOOLBRIDGE_TEST_SEED") or random.randrange(2**32))
    print(f"seed {seed}")
    driver = Driver(seed, cluster)
    cluster.start("producer")
    cluster.start("consumer")
    driver.new_file()  # a first file: the dataset exists before any step needs it
    for _ in range(STEPS):
        driver.step()
    assert_ledger(driver, driver.quiesce(), opensearch_client)
