"""``spoolbridge run``'s endpoints: one ``/metrics``, ``/healthz`` and ``/readyz`` for both children.

``run`` starts the producer with ``--metrics-port <port+1>`` and the consumer with ``--metrics-port
<port+2>``, both listening on 127.0.0.1 only. The supervisor serves ``metrics.port`` itself:

- ``/metrics`` scrapes both children (at most ``SCRAPE_TIMEOUT_SECS`` each) and merges what they say into
  one exposition, each series labelled ``process="producer"`` or ``process="consumer"`` (both report the
  same process and Python metrics, so the label keeps them apart); a child that does not answer is left
  out and counted in ``spoolbridge_run_scrape_errors_total{process}``;
- ``/healthz`` is 200 while the supervisor's loop runs and both children answer 200 on theirs;
- ``/readyz`` is 200 when both children are ready, else 503 with the first child's reason.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from .service_http import Check

__all__ = ["SCRAPE_TIMEOUT_SECS", "ChildrenCollector", "child_check", "child_ports", "children_registry"]

SCRAPE_TIMEOUT_SECS = 3.0
CHILD_HOST = "127.0.0.1"


def child_ports(port: int) -> dict[str, int]:
    """The children's ports for ``run``'s ``metrics.port``."""
    return {"producer": port + 1, "consumer": port + 2}


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class ChildrenCollector(Collector):
    """Each child's ``/metrics``, merged by family, every series labelled with its ``process``."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports
        self.errors = {process: 0 for process in ports}  # failed scrapes, reported after this one's

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for process, port in self.ports.items():
            try:
                status, body = _get(f"http://{CHILD_HOST}:{port}/metrics", SCRAPE_TIMEOUT_SECS)
            except OSError:
                status, body = 0, b""
            if status != 200:
                self.errors[process] += 1
                continue
            for family in text_string_to_metric_families(body.decode("utf-8", "replace")):
                target = merged.get(family.name)
                if target is None:
                    target = merged[family.name] = Metric(family.name, family.documentation, family.type)
                target.samples.extend(_labelled(family.samples, process))
        yield from merged.values()
        errors = CounterMetricFamily(
            "spoolbridge_run_scrape_errors", "Scrapes of a child's /metrics that failed", labels=["process"]
        )
        for process, count in self.errors.items():
            errors.add_metric([process], count)
        yield errors


def _labelled(samples: Iterable[Sample], process: str) -> Iterator[Sample]:
    for sample in samples:
        yield sample._replace(labels={"process": process, **sample.labels})


def children_registry(ports: dict[str, int]) -> CollectorRegistry:
    """A registry holding only the merged children (the supervisor itself does no work worth measuring)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ChildrenCollector(ports))
    return registry


def child_check(process: str, port: int, path: str) -> Check:
    """A check that passes when the child answers 200 on ``path`` (``/healthz`` or ``/readyz``)."""

    def check() -> str | None:
        try:
            status, body = _get(f"http://{CHILD_HOST}:{port}{path}", SCRAPE_TIMEOUT_SECS)
        except OSError as exc:
            return f"the {process} does not answer on {path} ({exc})"
        if status == 200:
            return None
        try:
            reason = str(json.loads(body).get("reason", body.decode()))
        except (ValueError, AttributeError):
            reason = body.decode("utf-8", "replace").strip()
        return f"{process}: {reason}"

    return process, check
