"""Helpers for tests of the service endpoints: free ports, HTTP GETs, scrapes, CLI processes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

from schemas.settings import Settings
from tests.conftest import Endpoints

REPO = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def scrape(port: int) -> Samples:
    """Every sample of ``/metrics`` by (name, sorted labels)."""
    status, body = get(port, "/metrics")
    assert status == 200, f"/metrics answered {status}"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= set(got))


def env_of(endpoints: Endpoints, settings: Settings) -> dict[str, str]:
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__TOPIC=settings.kafka.topic,
        SPOOLBRIDGE_CONSUMER__GROUP=settings.consumer.group,
        SPOOLBRIDGE_CONSUMER__PROGRESS_INTERVAL_SECS="1",
        SPOOLBRIDGE_OPENSEARCH__NUMBER_OF_REPLICAS="0",
        SPOOLBRIDGE_WEB__PORT="0",  # run's page on any free port: runs side by side never collide
        PYTHONPATH=str(REPO),
    )
    if settings.opensearch.url is not None:
        env["SPOOLBRIDGE_OPENSEARCH__URL"] = settings.opensearch.url.get_secret_value()
    return env


def start_cli(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``spoolbridge <args>`` as a process of its own, its output in ``log_path``."""
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "spoolbridge.cli", *args],
            env=env, cwd=log_path.parent, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def readyz(port: int) -> tuple[int, dict[str, Any]]:
    status, body = get(port, "/readyz")
    return status, (json.loads(body) if body else {})


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part")
    temp.write_bytes(orjson.dumps(data))
    temp.rename(path)
