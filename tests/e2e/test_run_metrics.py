"""``spoolbridge run --metrics-port PORT``: one ``/metrics``, ``/healthz`` and ``/readyz`` for both halves,
each series labelled with the process it comes from (the children listen on PORT+1 and PORT+2)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import doc_count, wait_for
from tests.integration.endpoint_helpers import env_of, get, scrape, start_cli, stop, total, write_json

pytestmark = pytest.mark.integration


def free_port_run() -> int:
    """A port whose next two are free too (``run`` uses all three)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base > 65533:
            continue
        try:
            for port in (base + 1, base + 2):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no three free ports in a row")


@pytest.mark.timeout(180)
def test_run_serves_both_halves_metrics_health_and_readiness_on_one_port(
    endpoints: Endpoints, settings_factory: Callable[..., Settings], opensearch_client: Any, tmp_path: Path
) -> None:
    settings = settings_factory()
    inbox = settings.producer.inbox
    inbox.mkdir(parents=True)
    port = free_port_run()
    bridge = start_cli(
        ["run", "--inbox", str(inbox), "--metrics-port", str(port)],
        env_of(endpoints, settings),
        tmp_path / "run.log",
    )
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 200, 90, "run's /readyz 200")
        write_json(inbox / "a.json", [{"n": i} for i in range(500)])
        wait_for(lambda: doc_count(opensearch_client, settings.index_name) == 500, 60, "500 documents")

        def counted() -> bool:
            samples = scrape(port)
            return total(samples, "spoolbridge_consumer_documents_indexed_total", process="consumer") == 500

        wait_for(counted, 30, "the consumer's count through run's /metrics")
        samples = scrape(port)
        assert total(samples, "spoolbridge_producer_records_produced_total", process="producer") == 500
        assert total(samples, "spoolbridge_producer_records_produced_total", process="consumer") == 0
        cpu = {dict(labels)["process"] for (name, labels) in samples if name == "process_cpu_seconds_total"}
        assert cpu == {"producer", "consumer"}  # the same family from both, told apart by the label
        status, body = get(port, "/readyz")
        assert status == 200 and json.loads(body)["checks"] == {"producer": "ok", "consumer": "ok"}
        assert get(port, "/healthz")[0] == 200
        for child in (port + 1, port + 2):  # the children answer on this machine only
            assert get(child, "/healthz")[0] == 200
        started = time.monotonic()
        assert stop(bridge) == 0
        assert time.monotonic() - started < 60
    finally:
        if bridge.poll() is None:
            bridge.kill()
            bridge.wait(10)
