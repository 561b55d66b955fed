"""Errors a person can act on: one line naming the setting (exit 2), or what was tried; no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["consume"], {"SPOOLBRIDGE_CONSUMER__MAX_EVENTS": "many"}, "setting consumer.max_events: "),
        (["produce", "--once", "--inbox", "/nonexistent-inbox"], {}, "setting producer.inbox: not a folder"),
        (["check", "--opensearch-url", "localhost:9200"], {}, "setting opensearch.url: "),
        (["status", "--config", "/nonexistent.toml"], {}, "setting --config: file not found"),
    ],
)
def test_bad_setting_is_one_line_naming_it_with_exit_code_2(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    result = _cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_toml_names_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "spoolbridge.toml"
    config.write_text("[kafka\ntopic = 1\n")
    result = _cli("connect-config", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith("spoolbridge: error: setting config file: ")
    assert "Traceback" not in result.stderr


def test_unknown_flag_is_refused_with_usage() -> None:
    result = _cli("consume", "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr


@pytest.mark.timeout(120)
def test_unreachable_kafka_says_what_was_tried_without_traceback(tmp_path: Path) -> None:
    env = {"SPOOLBRIDGE_KAFKA__REQUEST_TIMEOUT_MS": "3000"}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    flags = ["--bootstrap-servers", "127.0.0.1:1", "--opensearch-url", "http://127.0.0.1:1"]
    result = _cli("produce", "--once", "--inbox", str(inbox), *flags, env=env)
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr and "kafka.bootstrap_servers" in result.stderr
    assert "Traceback" not in result.stderr


def test_connect_config_prints_the_connector_without_the_password() -> None:
    result = _cli(
        "connect-config", "--topic", "steam", "--opensearch-url", "https://avnadmin:s3cret@os.example:1234"
    )
    assert result.returncode == 0
    assert '"topics": "steam"' in result.stdout
    assert "s3cret" not in result.stdout + result.stderr
