"""The readiness checks (spoolbridge/probes.py) against what needs no Kafka or OpenSearch: folders, a port
nobody listens on, and a socket that accepts connections but never answers (a frozen node, as seen from
outside)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.settings import load_settings
from spoolbridge.probes import inbox_check, kafka_check, opensearch_check


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose listener accepts TCP connections (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_inbox_check_wants_a_folder(tmp_path: Path) -> None:
    settings = load_settings({"producer": {"inbox": tmp_path / "inbox"}})
    check = inbox_check(settings.producer)
    assert check() == f"the inbox {tmp_path / 'inbox'} is not a folder (it was removed or is not mounted)"
    (tmp_path / "inbox").mkdir()
    assert check() is None


def test_opensearch_that_does_not_answer_in_time_is_named(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    check = opensearch_check(load_settings({"opensearch": {"url": url}}).opensearch, timeout_secs=0.5)
    assert check() == f"OpenSearch at {url} did not answer within 0.5 s"


def test_opensearch_that_refuses_is_named_without_its_password() -> None:
    port = closed_port()
    settings = load_settings({"opensearch": {"url": f"http://admin:s3cret@127.0.0.1:{port}"}})
    reason = opensearch_check(settings.opensearch, timeout_secs=0.5)()
    assert reason is not None and reason.startswith(f"OpenSearch at http://admin:***@127.0.0.1:{port} cannot")
    assert "s3cret" not in reason


def test_kafka_that_refuses_is_one_line_with_the_fix() -> None:
    servers = f"127.0.0.1:{closed_port()}"
    reason = kafka_check(load_settings({"kafka": {"bootstrap_servers": servers}}).kafka, timeout_secs=1.0)()
    assert reason is not None and reason.startswith(f"Kafka at {servers} cannot be reached")
    assert "\n" not in reason
