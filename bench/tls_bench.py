"""The cost of TLS + basic auth: the consumer's drain rate, and bytes on the wire per document, over HTTPS
with the security plugin against plain HTTP, each with ``opensearch.http_compress`` off and on.

    python -m bench.tls_bench [--docs 20000] [--repeat 2]

Kafka: ``SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS``, else the running local stack's. OpenSearch: two nodes this
script starts side by side in a temporary folder and stops at the end — the same version, heap and machine,
one plain (``stack.opensearch_security=false``), one with the security plugin (HTTPS from its own CA, the
least-privilege user ``spoolbridge``) — since one HTTP port cannot serve both. The four runs alternate
(plain off, plain on, secured off, secured on, then again) so drift in the machine hits all alike.

Each run produces the Steam-like documents of ``bench.consumer_bench`` to a fresh 3-partition topic (not
timed), then the consumer (in this process, default settings) drains it into a fresh index. The consumer
reaches the node through a byte-counting TCP relay on loopback, so "bytes" are what crossed the socket
in each direction from the first fetched message to the last document acknowledged: TLS records and
HTTP headers (basic auth included) as sent, the gzip body when compression is on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer

from bench.consumer_bench import _cleanup, _produce, _quiet_logger, _wait, make_documents
from consumer.dlq import DeadLetterPublisher
from consumer.index import ensure_index
from consumer.runner import Runner
from consumer.send import make_client
from consumer.service import consumer_config
from schemas.datasets import Datasets
from schemas.settings import Settings, StackSettings, load_settings
from spoolbridge.stack.manager import LocalStack
from spoolbridge.stack.processes import port_is_free
from spoolbridge.stack.services import OpenSearchNode


class CountingRelay:
    """A TCP relay on 127.0.0.1 to ``upstream_port`` that counts the bytes each way (TLS passes through)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.sent = 0  # client → node
        self.received = 0  # node → client
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.sent, self.received

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        try:
            while chunk := source.recv(1 << 16):
                target.sendall(chunk)
                with self._lock:
                    if outbound:
                        self.sent += len(chunk)
                    else:
                        self.received += len(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@dataclass
class Run:
    label: str
    docs: int
    secs: float
    sent: int
    received: int

    @property
    def rate(self) -> float:
        return self.docs / self.secs


def drain(settings: Settings, relay: CountingRelay, docs: list[tuple[str, bytes]], label: str) -> Run:
    """Produce ``docs`` to a fresh topic, then time the consumer draining it through ``relay``."""
    name = f"bench-tls-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"topic": name}),
            "consumer": settings.consumer.model_copy(update={"group": name}),
            "opensearch": settings.opensearch.model_copy(update={"index": name, "number_of_replicas": 0}),
        }
    )
    _produce(settings, docs)
    client = make_client(
        settings.opensearch.client_kwargs(), connections=settings.consumer.concurrent_requests
    )
    ensure_index(client, name, settings.opensearch)
    runner = Runner(
        settings,
        Consumer(consumer_config(settings, _quiet_logger())),
        client,
        DeadLetterPublisher(settings.kafka, Datasets(settings)),
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    _wait(lambda: runner.counters.fetched > 0, 60)
    first, before = time.monotonic(), relay.snapshot()
    done = _wait(lambda: runner.counters.done >= len(docs), 900)
    after = relay.snapshot()
    runner.stop()
    thread.join(60)
    runner.close()
    _cleanup(settings, client, name, topic=True)
    return Run(label, len(docs), done - first, after[0] - before[0], after[1] - before[1])


def _free_ports(count: int, start: int = 29200) -> list[int]:
    ports: list[int] = []
    port = start
    while len(ports) < count:
        if port_is_free(port):
            ports.append(port)
        port += 1
    return ports


@contextmanager
def two_nodes(folder: Path, heap_mb: int) -> Iterator[tuple[OpenSearchNode, OpenSearchNode]]:
    """A plain node and a secured one, started at once, stopped by their pids at the end."""
    http_plain, transport_plain, http_secured, transport_secured = _free_ports(4)
    plain = OpenSearchNode(StackSettings(
        dir=folder / "plain", opensearch_port=http_plain, opensearch_transport_port=transport_plain,
        opensearch_security=False, opensearch_heap_mb=heap_mb,
    ))  # fmt: skip
    secured = OpenSearchNode(StackSettings(
        dir=folder / "secured", opensearch_port=http_secured, opensearch_transport_port=transport_secured,
        opensearch_security=True, opensearch_heap_mb=heap_mb,
    ))  # fmt: skip
    try:
        pids = [plain.launch(), secured.launch()]
        plain.wait_until_answering(pids[0])
        secured.wait_until_answering(pids[1])
        yield plain, secured
    finally:
        plain.stop()
        secured.stop()


def _settings_for(base: Settings, node: OpenSearchNode, relay: CountingRelay, *, compress: bool) -> Settings:
    update: dict[str, object] = {"http_compress": compress, "ca_file": None}
    if node.secured:
        user = node.client_user
        update.update(
            url=f"https://{user.username}:{user.password()}@127.0.0.1:{relay.port}", ca_file=node.ca_file
        )
    else:
        update["url"] = f"http://127.0.0.1:{relay.port}"
    opensearch = base.opensearch.model_validate({**base.opensearch.model_dump(), **update})
    return base.model_copy(update={"opensearch": opensearch})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tls_bench")
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--heap-mb", type=int, default=512)
    args = parser.parse_args(argv)
    base = load_settings()
    if base.kafka.bootstrap_servers is None:
        kafka = base.kafka.model_copy(
            update={"bootstrap_servers": LocalStack(base.stack).kafka.bootstrap_servers}
        )
        base = base.model_copy(update={"kafka": kafka})
    docs = make_documents(args.docs)
    json_bytes = sum(len(key) + len(value) for key, value in docs)
    print(f"{len(docs)} documents, {json_bytes / len(docs):,.0f} bytes of id + JSON each", file=sys.stderr)
    runs: dict[str, list[Run]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="tls-bench-") as folder,
        two_nodes(Path(folder), args.heap_mb) as nodes,
    ):
        relays = [CountingRelay(node.settings.opensearch_port) for node in nodes]
        for round_ in range(args.repeat):
            for node, relay in zip(nodes, relays, strict=True):
                for compress in (False, True):
                    label = (
                        f"{'HTTPS + basic auth' if node.secured else 'plain HTTP'}, http_compress={compress}"
                    )
                    run = drain(_settings_for(base, node, relay, compress=compress), relay, docs, label)
                    runs.setdefault(label, []).append(run)
                    print(f"round {round_ + 1}: {label}: {run.rate:,.0f} docs/s", file=sys.stderr)
        for relay in relays:
            relay.close()
    plain_best = max(r.rate for r in runs["plain HTTP, http_compress=False"])
    print(
        "\n| node, compression | docs/s, each run | best x plain uncompressed | bytes sent / doc "
        "| bytes received / doc |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, each in runs.items():
        best = max(each, key=lambda r: r.rate)
        rates = ", ".join(f"{r.rate:,.0f}" for r in each)
        print(
            f"| {label} | {rates} | {best.rate / plain_best:.2f} | {best.sent / best.docs:,.0f} | "
            f"{best.received / best.docs:,.1f} |"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
