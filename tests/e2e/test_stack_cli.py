"""``spoolbridge stack up | status | down`` as a user runs it, on ports of its own, with OpenSearch as plain
HTTP (the opt-out ``stack.opensearch_security=false``; the secured default: test_stack_opensearch_security.py
and every test that uses the session's stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from spoolbridge.stack import processes

pytestmark = pytest.mark.integration

PORTS = {
    "SPOOLBRIDGE_STACK__KAFKA_PORT": 19192,
    "SPOOLBRIDGE_STACK__KAFKA_CONTROLLER_PORT": 19193,
    "SPOOLBRIDGE_STACK__KAFKA_SSL_PORT": 19194,
    "SPOOLBRIDGE_STACK__KAFKA_SASL_PORT": 19196,
    "SPOOLBRIDGE_STACK__OPENSEARCH_PORT": 19290,
    "SPOOLBRIDGE_STACK__OPENSEARCH_TRANSPORT_PORT": 19390,
}


def _stack(action: str, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    env.update({k: str(v) for k, v in PORTS.items()}, SPOOLBRIDGE_STACK__OPENSEARCH_SECURITY="false")
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", "stack", action, "--dir", str(state), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


@pytest.mark.timeout(300)
def test_stack_up_serves_both_then_down_leaves_no_process(tmp_path: Path) -> None:
    state = tmp_path / "stack"
    up = _stack("up", state, "--json")
    try:
        assert up.returncode == 0, up.stderr
        info = json.loads(up.stdout)
        assert info["opensearch_url"] == f"http://127.0.0.1:{PORTS['SPOOLBRIDGE_STACK__OPENSEARCH_PORT']}"
        assert "opensearch_ca_file" not in info and "opensearch_password_file" not in info
        with urllib.request.urlopen(info["opensearch_url"], timeout=10) as response:
            assert json.loads(response.read())["version"]["number"].startswith("2.19")
        assert (
            AdminClient({"bootstrap.servers": info["kafka_bootstrap_servers"]})
            .list_topics(timeout=10)
            .brokers
        )
        tls = AdminClient(
            {
                "bootstrap.servers": info["kafka_ssl_bootstrap_servers"],
                "security.protocol": "SSL",
                "ssl.ca.location": info["kafka_ssl_cafile"],
                "ssl.certificate.location": info["kafka_ssl_certfile"],
                "ssl.key.location": info["kafka_ssl_keyfile"],
            }
        )
        assert tls.list_topics(timeout=10).brokers
        password_file = Path(info["kafka_sasl_password_file"])
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        sasl = AdminClient(
            {
                "bootstrap.servers": info["kafka_sasl_bootstrap_servers"],
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": info["kafka_sasl_mechanism"],
                "sasl.username": info["kafka_sasl_username"],
                "sasl.password": password,
                "ssl.ca.location": info["kafka_ssl_cafile"],
            }
        )
        assert sasl.list_topics(timeout=10).brokers

        again = _stack("up", state)
        assert again.returncode == 0
        assert "kafka is already running" in again.stdout
        assert "opensearch is already running" in again.stdout
        assert f"password in   {password_file}" in again.stdout
        assert "(plain HTTP, no users)" in again.stdout

        status_json = _stack("status", state, "--json").stdout
        status = json.loads(status_json)
        pids = [service["pid"] for service in status["services"]]
        assert all(service["running"] for service in status["services"])
        assert all(processes.is_alive(pid) for pid in pids)
        kafka = next(service for service in status["services"] if service["name"] == "kafka")
        assert kafka["ports"]["sasl"] == PORTS["SPOOLBRIDGE_STACK__KAFKA_SASL_PORT"]
        assert status["kafka_sasl_password_file"] == str(password_file)
        shown = (
            up.stdout + up.stderr + again.stdout + again.stderr + status_json + _stack("status", state).stdout
        )
        assert password not in shown
    finally:
        down = _stack("down", state)
    assert down.returncode == 0, down.stderr
    assert not any(processes.is_alive(pid) for pid in pids)
    after = json.loads(_stack("status", state, "--json").stdout)
    assert not any(service["running"] for service in after["services"])


def test_stack_up_names_the_port_that_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", PORTS["SPOOLBRIDGE_STACK__OPENSEARCH_PORT"]))
        taken.listen()
        result = _stack("up", tmp_path / "stack")
    assert result.returncode == 1
    assert f"port {PORTS['SPOOLBRIDGE_STACK__OPENSEARCH_PORT']}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not _stack("status", tmp_path / "stack", "--json").stdout.count('"running": true')
