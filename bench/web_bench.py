"""The upload page against its baselines, on one machine:

    SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=host:9092 SPOOLBRIDGE_OPENSEARCH__URL=http://host:9200 \\
        python -m bench.web_bench [--upload-mb 1024] [--searchable-mb 100] [--repeat 3]

1. **Upload throughput** to ``spoolbridge web`` on 127.0.0.1: the page's own upload (chromium driven by
   Playwright: one tus PATCH with the file, resumable) from the click to the server's last byte,
   against ``curl -T`` of the same file to the same server (one PATCH with the whole file on an upload
   created for it: the same write path, no chunks). Rounds interleave the two; the best of each is
   reported, with the ratio. The server's peak RSS (``VmHWM``) and its RSS before the first upload
   are reported too: the server streams each request to disk, so the figure stays flat. So is the CPU
   time each side spent on an upload (the client: every chromium process, or curl; the server), which
   says where the time goes when both share a small machine.
2. **Upload-to-searchable**: ``spoolbridge run`` on a fresh topic; the same file (JSON Lines, ~1 KB
   records), each round into two new datasets: once through the page (clock from the click on "start")
   and once copied into a new dataset folder (``mkdir``, then ``cp`` to a ``.part`` name and renamed;
   clock from the start of the copy), each timed until ``_count`` on its index sees every record. The
   order alternates between rounds; medians are reported. Ratio = drop time / page time (higher is
   better for the page; the goal is >= 0.9).
3. **Click-to-sentence** (``--only sentence``): the same ``spoolbridge run``; the Steam sample
   (``examples/steam-sample/games-1.json``, 50 records) and a ``--sentence-mb`` JSON Lines file, each
   round into two new datasets: through the page, from the click on "start" until the card shows its
   result sentence (``data-verdict`` set: the ledger balanced and the group committed past the
   version); and dropped in the folder, from the start of the copy until the page's own progress
   stream for that file (``api/progress``, what a card would follow) carries the result. The same
   checks run on both paths, so the ratio says what the page's checks and upload cost on top.

The files are generated once into ``bench/data/``. Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def data_file(megabytes: int) -> tuple[Path, int]:
    """``bench/data/web-<MB>mb.jsonl``: JSON Lines of ~1 KB records; returns it and its record count."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"web-{megabytes}mb.jsonl"
    count_file = path.with_suffix(".count")
    if not path.exists() or not count_file.exists():
        say(f"generating {path} ...")
        pad = "x" * 960
        count = 0
        with path.open("w", encoding="utf-8") as out:
            while out.tell() < megabytes * 1024 * 1024:
                out.writelines(
                    f'{{"n": {count + i}, "name": "game {count + i}", "pad": "{pad}"}}\n' for i in range(1000)
                )
                count += 1000
        count_file.write_text(str(count))
    return path, int(count_file.read_text())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chromium_cpu_seconds() -> float:
    """CPU seconds so far of every chromium process (browser, network service, renderers, gpu)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"chromium" in (entry / "cmdline").read_bytes():
                total += cpu_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            pass  # it ended meanwhile
    return total


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended (curl)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


def start(
    cmd: list[str], log: Path, pattern: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while not (found := re.search(pattern, log.read_text(errors="replace"))):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{cmd[3]} did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process, found.group(1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=90)


def click_start(page: Any, url: str, dataset: str, path: Path) -> tuple[Any, float]:
    """Open the page, choose ``dataset`` and ``path``, click "start": the card and the moment of the click."""
    page.goto(url)
    page.fill("#dataset", dataset)
    page.locator("#dataset-check", has_text="dataset").wait_for()
    page.set_input_files("#files", str(path))
    card = page.locator(".file").first
    card.locator(".start").wait_for()
    started = time.perf_counter()
    card.locator(".start").click()
    return card, started


def page_upload(browser: Any, url: str, dataset: str, path: Path) -> tuple[float, float]:
    """The moment of the click (``perf_counter``) and the seconds from it to the server's last byte."""
    page = browser.new_page()
    try:
        _, started = click_start(page, url, dataset, path)
        page.locator(".file[data-source]").wait_for(timeout=3_600_000)  # the server has the last byte
        return started, time.perf_counter() - started
    finally:
        page.close()


def curl_upload(url: str, dataset: str, path: Path, name: str) -> float:
    """Seconds for ``curl -T`` of the whole file as one PATCH to an upload created for it."""
    b64 = {key: base64.b64encode(value.encode()).decode() for key, value in (("f", name), ("d", dataset))}
    meta = f"filename {b64['f']},dataset {b64['d']}"
    created = subprocess.run(
        ["curl", "-sS", "-i", "-X", "POST", "-H", "Tus-Resumable: 1.0.0",
         "-H", f"Upload-Length: {path.stat().st_size}", "-H", f"Upload-Metadata: {meta}",
         url + "api/uploads"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    location = re.search(r"(?im)^location: (\S+)", created.stdout).group(1)  # type: ignore[union-attr]
    started = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(path), "-X", "PATCH", "-H", "Tus-Resumable: 1.0.0",
         "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
         url.rstrip("/") + location],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def bench_upload(browser: Any, megabytes: int, repeat: int, env: dict[str, str]) -> None:
    path, _ = data_file(megabytes)
    size_mb = path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as work:
        inbox = Path(work) / "inbox"
        cmd = [sys.executable, "-m", "spoolbridge.cli", "web", "--inbox", str(inbox), "--port", "0"]
        server, url = start(cmd, Path(work) / "web.log", r"serving (http://127\.0\.0\.1:\d+/)", env)
        try:
            idle_rss = rss_kb(server.pid, "VmRSS")
            times: dict[str, list[float]] = {"page": [], "curl": []}
            cpu: dict[str, list[tuple[float, float]]] = {"page": [], "curl": []}  # (client, server)
            for round_number in range(repeat):
                for name in ("page", "curl"):
                    dataset = f"bench-{name}-{round_number}"
                    client_before = chromium_cpu_seconds() + children_cpu_seconds()
                    server_before = cpu_seconds(server.pid)
                    if name == "page":
                        _, seconds = page_upload(browser, url, dataset, path)
                    else:
                        seconds = curl_upload(url, dataset, path, path.name)
                    client = chromium_cpu_seconds() + children_cpu_seconds() - client_before
                    times[name].append(seconds)
                    cpu[name].append((client, cpu_seconds(server.pid) - server_before))
                    say(f"round {round_number + 1} {name}: {seconds:.2f} s ({size_mb / seconds:.0f} MB/s), "
                        f"CPU s client {client:.2f} server {cpu[name][-1][1]:.2f}")  # fmt: skip
                    (inbox / dataset / path.name).unlink()  # no producer here: keep the disk free
            peak_rss = rss_kb(server.pid, "VmHWM")
        finally:
            stop(server)
    page_best, curl_best = min(times["page"]), min(times["curl"])
    print(f"\n| upload of {size_mb:,.0f} MB to 127.0.0.1 | best of {repeat} | MB/s | CPU s client / server "
          "(median) |\n| --- | ---: | ---: | ---: |")  # fmt: skip
    for name, label in (("page", "page (tus, chromium)"), ("curl", "curl -T (one request)")):
        best = min(times[name])
        client, server_cpu = (sorted(column)[len(column) // 2] for column in zip(*cpu[name], strict=True))
        print(f"| {label} | {best:.2f} s | {size_mb / best:,.0f} | {client:.2f} / {server_cpu:.2f} |")
    print(f"| ratio page / curl | {curl_best / page_best:.2f}x | | |")
    idle_mb, peak_mb = idle_rss / 1024, peak_rss / 1024
    print(f"\nserver RSS: {idle_mb:.0f} MB before the first upload, peak (VmHWM) {peak_mb:.0f} MB")


def wait_count(client: Any, index: str, expected: int, timeout: float = 3600) -> float:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.indices.refresh(index=index)
            if int(client.count(index=index)["count"]) >= expected:
                return time.perf_counter()
        except Exception:  # the index is not there yet
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{index} did not reach {expected} documents")
        time.sleep(0.2)


def opensearch_client() -> Any:
    """A client for the node the environment names (``SPOOLBRIDGE_OPENSEARCH__URL``, and its CA file and
    credentials when the node is secured, as the local stack's is)."""
    from opensearchpy import OpenSearch

    from schemas.settings import Settings

    return OpenSearch(**{**Settings().opensearch.client_kwargs(), "timeout": 120})


@contextlib.contextmanager
def running_bridge(env: dict[str, str], prefix: str) -> Iterator[tuple[Path, str, str]]:
    """``spoolbridge run`` on a fresh inbox, topic and group, its consumer in the group: the inbox, the
    page's address and the run's id (for names of its own); stopped at the end."""
    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as work:
        inbox = Path(work) / "inbox"
        cmd = [sys.executable, "-m", "spoolbridge.cli", "run", "--inbox", str(inbox),
               "--topic", f"{prefix}-{run_id}", "--group", f"{prefix}-{run_id}"]  # fmt: skip
        bridge, url = start(
            cmd,
            Path(work) / "run.log",
            r"page +(http://127\.0\.0\.1:\d+/)",
            {**env, "SPOOLBRIDGE_WEB__PORT": "0"},
        )
        try:
            time.sleep(5)  # the consumer joins its group
            yield inbox, url, run_id
        finally:
            stop(bridge)


def drop_copy(inbox: Path, dataset: str, path: Path) -> float:
    """Copy ``path`` into a new dataset folder as a user would (to a hidden part name, then renamed);
    returns the clock when the copy began."""
    (inbox / dataset).mkdir(parents=True)
    started = time.perf_counter()
    part = inbox / dataset / f".{path.name}.part"
    subprocess.run(["cp", str(path), str(part)], check=True)
    part.rename(inbox / dataset / path.name)
    return started


def bench_searchable(browser: Any, megabytes: int, repeat: int, env: dict[str, str]) -> None:
    path, records = data_file(megabytes)
    client = opensearch_client()
    results: dict[str, list[float]] = {"page": [], "drop": []}
    with running_bridge(env, "bench-web") as (inbox, url, run_id):
        for round_number in range(repeat):  # the order alternates: neither goes first every time
            for how in ("page", "drop") if round_number % 2 == 0 else ("drop", "page"):
                dataset = f"bench-{how}-{round_number}-{run_id}"
                if how == "page":
                    started, _ = page_upload(browser, url, dataset, path)
                else:
                    started = drop_copy(inbox, dataset, path)
                results[how].append(wait_count(client, dataset, records) - started)
                say(f"round {round_number + 1} {how}: {results[how][-1]:.1f} s")
                client.indices.delete(index=dataset, ignore_unavailable=True)
    size_mb = path.stat().st_size / 1e6
    page, drop = (sorted(results[how])[len(results[how]) // 2] for how in ("page", "drop"))
    print(f"\n| {records:,} records, {size_mb:,.0f} MB, until searchable | median of {repeat} s | rounds |")
    print("| --- | ---: | --- |")
    for how, label, median in (("page", "through the page", page), ("drop", "dropped in the folder", drop)):
        print(f"| {label} | {median:.1f} | {', '.join(f'{t:.1f}' for t in results[how])} |")
    print(f"| ratio drop / page | {drop / page:.2f}x | |")


def result_seconds(url: str, source: str, started: float, timeout: float = 3600) -> float:
    """Seconds from ``started`` until the page's progress stream for ``source`` carries a result."""
    import json
    import urllib.parse
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{url}api/progress?source={urllib.parse.quote(source)}")
        with urllib.request.urlopen(request, timeout=timeout) as stream:
            for line in stream:
                if line.startswith(b"data: ") and json.loads(line[6:]).get("result"):
                    return time.perf_counter() - started
        time.sleep(0.2)  # the stream ended (the file not there yet): ask again
    raise SystemExit(f"{source} had no result in {timeout:.0f} s")


def page_sentence(browser: Any, url: str, dataset: str, path: Path) -> tuple[float, str]:
    """Seconds from the click on "start" to the card's result sentence, and the sentence."""
    page = browser.new_page()
    try:
        card, started = click_start(page, url, dataset, path)
        page.locator(".file[data-verdict]").wait_for(timeout=3_600_000)
        return time.perf_counter() - started, card.locator(".status").inner_text()
    finally:
        page.close()


def bench_sentence(browser: Any, megabytes: int, repeat: int, env: dict[str, str]) -> None:
    big, _ = data_file(megabytes)
    files = [Path(__file__).parent.parent / "examples" / "steam-sample" / "games-1.json", big]
    results: dict[tuple[str, str], list[float]] = {}
    with running_bridge(env, "bench-say") as (inbox, url, run_id):
        for round_number in range(repeat):
            for path in files:
                for how in ("page", "drop") if round_number % 2 == 0 else ("drop", "page"):
                    dataset = f"say-{how}-{round_number}-{path.stem}-{run_id}"
                    if how == "page":
                        seconds, sentence = page_sentence(browser, url, dataset, path)
                        say(f"  {sentence}")
                    else:
                        started = drop_copy(inbox, dataset, path)
                        seconds = result_seconds(url, f"{dataset}/{path.name}", started)
                    results.setdefault((path.name, how), []).append(seconds)
                    say(f"round {round_number + 1} {path.name} {how}: {seconds:.2f} s")
    print(f"\n| click (or copy) to the result sentence | median of {repeat} s | rounds |")
    print("| --- | ---: | --- |")
    for path in files:
        medians = {}
        for how, label in (("page", "through the page"), ("drop", "dropped in the folder")):
            times = results[(path.name, how)]
            medians[how] = sorted(times)[len(times) // 2]
            rounds = ", ".join(f"{t:.2f}" for t in times)
            size = f"{path.stat().st_size / 1e6:,.1f} MB"
            print(f"| {path.name} ({size}), {label} | {medians[how]:.2f} | {rounds} |")
        print(f"| {path.name}: ratio drop / page | {medians['drop'] / medians['page']:.2f}x | |")


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.web_bench")
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--searchable-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sentence-mb", type=int, default=100)
    parser.add_argument(
        "--only", choices=("upload", "searchable", "sentence"), help="run one of the measures"
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    for name in ("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS", "SPOOLBRIDGE_OPENSEARCH__URL"):
        if name not in env:
            raise SystemExit(f"set {name}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            if args.only in (None, "upload"):
                bench_upload(browser, args.upload_mb, args.repeat, env)
            if args.only in (None, "searchable"):
                bench_searchable(browser, args.searchable_mb, args.repeat, env)
            if args.only in (None, "sentence"):
                bench_sentence(browser, args.sentence_mb, args.repeat, env)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
