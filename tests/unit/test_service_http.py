"""The service endpoints (spoolbridge/service_http.py, spoolbridge/bridge_metrics.py) on a real socket on
127.0.0.1 — no Kafka or OpenSearch: the checks here are plain functions."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from schemas.errors import ConfigError
from schemas.health import Heartbeat
from schemas.settings import MetricsSettings
from spoolbridge.bridge_metrics import child_check, children_registry
from spoolbridge.service_http import ServiceEndpoints, metrics_response, serve_endpoints


def get(port: int, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


def get_json(port: int, path: str) -> tuple[int, dict[str, Any]]:
    status, body, content_type = get(port, path)
    assert content_type == "application/json"
    return status, json.loads(body)


class Switch:
    """A readiness check whose answer the test sets; counts how often it was asked."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.calls = 0

    def __call__(self) -> str | None:
        self.calls += 1
        return self.reason


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("spoolbridge_test_things", "Things", ["dataset"], registry=registry).labels("games").inc(3)
    return registry


@pytest.fixture
def served(registry: CollectorRegistry) -> Iterator[tuple[ServiceEndpoints, Switch]]:
    switch = Switch()
    endpoints = ServiceEndpoints(
        "127.0.0.1", 0, "consumer", Heartbeat(), ready=[("opensearch", switch)], registry=registry
    )
    endpoints.start()
    try:
        yield endpoints, switch
    finally:
        endpoints.stop()


def test_metrics_are_the_registry_in_prometheus_text_format(served: tuple[ServiceEndpoints, Switch]) -> None:
    endpoints, _ = served
    status, body, content_type = get(endpoints.port, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    sample = families["spoolbridge_test_things"].samples[0]
    assert (sample.name, sample.labels, sample.value) == (
        "spoolbridge_test_things_total",
        {"dataset": "games"},
        3,
    )
    assert b"_created" not in body


def test_healthz_follows_the_heartbeat(served: tuple[ServiceEndpoints, Switch]) -> None:
    endpoints, _ = served
    assert get_json(endpoints.port, "/healthz") == (200, {"status": "starting", "service": "consumer",
                                                          "last_beat_secs": None})  # fmt: skip
    endpoints.heartbeat.beat()
    status, body = get_json(endpoints.port, "/healthz")
    assert status == 200 and body["status"] == "ok"
    endpoints.stall_secs = 0.0  # any age is too old now: the loop is stuck
    status, body = get_json(endpoints.port, "/healthz")
    assert status == 503 and body["reason"].startswith("the consumer loop has not run for")
    endpoints.stall_secs = 60.0
    endpoints.heartbeat.stop()
    assert get_json(endpoints.port, "/healthz") == (
        503, {"status": "unhealthy", "service": "consumer", "reason": "the consumer is stopping"}
    )  # fmt: skip


def test_readyz_is_503_with_a_json_reason_until_the_loop_runs_and_the_checks_pass(
    served: tuple[ServiceEndpoints, Switch], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints, switch = served
    monkeypatch.setattr("spoolbridge.service_http.READY_CACHE_SECS", 0.0)
    starting = {"status": "not ready", "service": "consumer", "reason": "the consumer is starting"}
    assert get_json(endpoints.port, "/readyz") == (503, {**starting, "checks": {"opensearch": "ok"}})
    switch.reason = "OpenSearch at http://os:9200 did not answer within 2 s"
    status, body = get_json(endpoints.port, "/readyz")  # starting, because it waits for OpenSearch
    assert status == 503 and body["reason"] == switch.reason
    endpoints.heartbeat.beat()
    status, body = get_json(endpoints.port, "/readyz")
    assert status == 503
    assert body["reason"] == switch.reason and body["checks"] == {"opensearch": switch.reason}
    switch.reason = None
    assert get_json(endpoints.port, "/readyz") == (
        200, {"status": "ready", "service": "consumer", "checks": {"opensearch": "ok"}}
    )  # fmt: skip


def test_readyz_answers_are_reused_for_a_moment(served: tuple[ServiceEndpoints, Switch]) -> None:
    endpoints, switch = served
    endpoints.heartbeat.beat()
    for _ in range(5):
        assert get_json(endpoints.port, "/readyz")[0] == 200
    assert switch.calls == 1


def test_a_check_that_raises_is_a_failed_check_not_a_server_error(registry: CollectorRegistry) -> None:
    def broken() -> str | None:
        raise RuntimeError("boom")

    heartbeat = Heartbeat()
    heartbeat.beat()
    with serve_endpoints(
        MetricsSettings(port=free_port(), host="127.0.0.1"), "producer", heartbeat,
        ready=[("inbox", broken)], registry=registry,
    ) as endpoints:  # fmt: skip
        assert endpoints is not None
        status, body = get_json(endpoints.port, "/readyz")
        assert status == 503 and body["reason"] == "the inbox check failed: RuntimeError: boom"
        assert get_json(endpoints.port, "/nothing")[0] == 404


def test_endpoints_are_off_without_a_port() -> None:
    with serve_endpoints(MetricsSettings(), "producer", Heartbeat()) as endpoints:
        assert endpoints is None


def test_a_port_in_use_is_a_setting_error_naming_metrics_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            ServiceEndpoints("127.0.0.1", port, "consumer", Heartbeat()).start()
    assert "metrics.port" in str(caught.value) and f"127.0.0.1:{port}" in str(caught.value)


def test_metrics_response_serves_openmetrics_when_asked(registry: CollectorRegistry) -> None:
    body, content_type = metrics_response(registry, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_merges_its_childrens_metrics_with_a_process_label() -> None:
    children: dict[str, ServiceEndpoints] = {}
    for name, count in (("producer", 5), ("consumer", 7)):
        registry = CollectorRegistry()
        Counter("shared_things", "In both", registry=registry).inc(count)
        Counter(f"only_{name}", "In one", registry=registry).inc()
        heartbeat = Heartbeat()
        heartbeat.beat()
        children[name] = ServiceEndpoints("127.0.0.1", 0, name, heartbeat, registry=registry)
        children[name].start()
    ports = {name: endpoints.port for name, endpoints in children.items()}
    try:
        body, _ = metrics_response(children_registry({**ports, "ghost": free_port()}))
        text = body.decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        shared = {s.labels["process"]: s.value for s in families["shared_things"].samples}
        assert shared == {"producer": 5, "consumer": 7}
        assert [s.labels for s in families["only_consumer"].samples] == [{"process": "consumer"}]
        assert text.count("# TYPE shared_things") == 1  # one family, both children's series
        errors = families["spoolbridge_run_scrape_errors"].samples
        assert {s.labels["process"]: s.value for s in errors} == {"producer": 0, "consumer": 0, "ghost": 1}
        assert child_check("consumer", ports["consumer"], "/healthz")[1]() is None
        children["consumer"].heartbeat.stop()
        reason = child_check("consumer", ports["consumer"], "/readyz")[1]()
        assert reason == "consumer: the consumer is stopping"
    finally:
        for endpoints in children.values():
            endpoints.stop()
