"""Small-files benchmark: files/s and records/s of a running producer, this checkout against another.

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 python -m bench.small_files_bench \\
        [--base CHECKOUT] [--files 2000] [--records 5] [--folders 4] [--repeat 3]

Each run starts ``python -m producer --inbox <fresh inbox> --topic <fresh topic>`` (watching, default
settings) with the Python of the checkout under test (``<checkout>/.venv/bin/python``, the checkout on
``PYTHONPATH``), makes ``--folders`` dataset folders and drops one warm-up file into each (so the
dataset topics exist and the producer is warm before the clock starts), then renames ``--files`` JSON
Lines files of ``--records`` small records each (~100 B), spread evenly over the folders, into the
inbox at once. The clock runs from the first rename until the last file's manifest is written in
``done/`` (its ``finished_at``: every record of it acknowledged by Kafka), which the benchmark waits for
by counting the manifests. ``failed/`` must stay empty.

With ``--base`` the same load runs against that checkout too, alternating run by run (base first), so
the ratio compares the two in the same run on the same broker; the best run of each is reported beside
every run's rate. ``--profile-dir`` runs each producer under ``cProfile`` and keeps one ``.prof`` per
run there. Topics are deleted at the end. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from confluent_kafka.admin import AdminClient

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
WATCHING = b"event=watching"


@dataclass
class Checkout:
    label: str
    path: Path

    @property
    def python(self) -> Path:
        return self.path / ".venv" / "bin" / "python"


@dataclass
class Run:
    label: str
    files: int
    records: int
    secs: float

    @property
    def files_per_s(self) -> float:
        return self.files / self.secs

    @property
    def records_per_s(self) -> float:
        return self.records / self.secs


def checkout(path: Path) -> Checkout:
    commit = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    found = Checkout(commit, path.resolve())
    if not found.python.exists():
        raise SystemExit(f"no {found.python}: run `make setup` in {path}")
    return found


def write_file(path: Path, number: int, records: int) -> None:
    lines = (
        orjson.dumps({"n": number * records + i, "name": f"item-{number}-{i}", "price": i * 1.25, "ok": True})
        for i in range(records)
    )
    path.write_bytes(b"\n".join(lines) + b"\n")


def manifests(done: Path, folders: list[str]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):
            found.extend(Path(e.path) for e in os.scandir(done / folder) if e.name.endswith(".manifest.json"))
    return found


def wait_for(
    inbox: Path, folders: list[str], count: int, producer: subprocess.Popen[bytes], timeout: float
) -> list[Path]:
    """Poll ``done/`` until ``count`` manifests are there (raising if a file failed or the producer died)."""
    done, failed = inbox / "done", inbox / "failed"
    deadline = time.monotonic() + timeout
    while True:
        found = manifests(done, folders)
        if len(found) >= count:
            return found
        if failed.exists() and any(failed.rglob("*")):
            raise SystemExit(f"files failed: {sorted(p.name for p in failed.rglob('*'))[:5]}")
        if producer.poll() is not None:
            raise SystemExit(f"the producer exited with {producer.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(found)} of {count} files in done/ after {timeout:.0f} s")
        time.sleep(0.1)


def start_producer(
    target: Checkout, inbox: Path, topic: str, log_path: Path, profile: Path | None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(target.path)}
    env.pop("VIRTUAL_ENV", None)
    module = ["-m", "cProfile", "-o", str(profile), "-m", "producer"] if profile else ["-m", "producer"]
    command = [str(target.python), *module, "--inbox", str(inbox), "--topic", topic]
    with log_path.open("wb") as log:
        producer = subprocess.Popen(command, env=env, cwd=inbox.parent, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while WATCHING not in log_path.read_bytes():
        if producer.poll() is not None or time.monotonic() > deadline:
            stop_producer(producer)
            raise SystemExit(f"the producer did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return producer


def stop_producer(producer: subprocess.Popen[bytes]) -> None:
    if producer.poll() is None:
        os.kill(producer.pid, signal.SIGTERM)
        try:
            producer.wait(60)
        except subprocess.TimeoutExpired:
            os.kill(producer.pid, signal.SIGKILL)
            producer.wait()


def run_load(target: Checkout, topic: str, args: argparse.Namespace, profile: Path | None) -> Run:
    """One producer, one warm-up file per folder, then ``args.files`` files dropped at once."""
    folders = [f"set{i}" for i in range(args.folders)]
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        root = Path(tmp)
        inbox, staging = root / "inbox", root / "staging"
        inbox.mkdir()
        staging.mkdir()
        producer = start_producer(target, inbox, topic, root / "producer.log", profile)
        try:
            for folder in folders:
                (inbox / folder).mkdir()
                write_file(staging / "warm-up.jsonl", 0, args.records)
                os.rename(staging / "warm-up.jsonl", inbox / folder / "warm-up.jsonl")
            wait_for(inbox, folders, len(folders), producer, 120)
            drops = []
            for number in range(args.files):
                name = f"part-{number:05d}.jsonl"
                write_file(staging / name, number + 1, args.records)
                drops.append((staging / name, inbox / folders[number % len(folders)] / name))
            started = time.time()
            for staged, dropped in drops:
                os.rename(staged, dropped)
            found = wait_for(inbox, folders, len(folders) + args.files, producer, args.timeout)
            finished = max(
                datetime.fromisoformat(orjson.loads(p.read_bytes())["finished_at"]).timestamp() for p in found
            )
        finally:
            stop_producer(producer)
    return Run(target.label, args.files, args.files * args.records, finished - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, default=None, help="another checkout to run the same load")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--records", type=int, default=5, help="records per file")
    parser.add_argument("--folders", type=int, default=4, help="dataset folders the files are spread over")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each checkout, alternating")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one run may take")
    parser.add_argument("--profile-dir", type=Path, default=None, help="keep a cProfile file per run here")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    targets = ([checkout(args.base)] if args.base else []) + [checkout(REPO)]
    if len(targets) == 2 and targets[0].label == targets[1].label:
        targets[0].label += " (base)"
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    DATA.mkdir(parents=True, exist_ok=True)
    prefix = f"bench-small-{uuid.uuid4().hex[:8]}"
    runs: list[Run] = []
    try:
        for attempt in range(args.repeat):
            for index, target in enumerate(targets):
                name = f"{prefix}-{index}-{attempt}"
                profile = None
                if args.profile_dir:
                    profile = args.profile_dir / f"{index}-{target.label}-{attempt}.prof"
                load = os.getloadavg()[0]
                runs.append(run_load(target, name, args, profile))
                run = runs[-1]
                print(
                    f"{target.label} run {attempt + 1}: {run.secs:.2f} s, {run.files_per_s:,.0f} files/s"
                    f" (load {load:.1f})",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        ours = [t for t in admin.list_topics(timeout=30).topics if t.startswith(prefix)]
        if ours:
            for future in admin.delete_topics(ours).values():
                future.result(timeout=30)
    print(f"{args.files:,} files of {args.records} records over {args.folders} dataset folders\n")
    print("| checkout | best files/s | best records/s | every run (s) | ratio to the first |")
    print("| --- | ---: | ---: | --- | ---: |")
    first: float | None = None
    for target in targets:
        mine = [r for r in runs if r.label == target.label]
        best = max(mine, key=lambda r: r.files_per_s)
        first = first or best.files_per_s
        every = ", ".join(f"{r.secs:.2f}" for r in mine)
        print(
            f"| {target.label} | {best.files_per_s:,.0f} | {best.records_per_s:,.0f} | {every} |"
            f" {best.files_per_s / first:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
