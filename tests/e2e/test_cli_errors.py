"""Errors a person can act on: one line naming the setting (exit 2), or what was tried; no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Endpoints


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
        (
            ["status", "--bootstrap-servers", "127.0.0.1:1"],
            {"SPOOLBRIDGE_OPENSEARCH__URL": "http://user:hunter2@localhost:92x0"},
            "setting opensearch.url: the port must be a number from 1 to 65535",
        ),
        (
            ["check", "--index", "Steam Games"],
            {},
            "setting opensearch.index: 'Steam Games': index names must be lower case (e.g. 'steam-games')",
        ),
        (
            ["status", "--topic", "Orders", "--bootstrap-servers", "127.0.0.1:1", "--opensearch-url",
             "http://127.0.0.1:1"],
            {},
            "setting kafka.topic: 'Orders' is also the index name (opensearch.index is unset), and index "
            "names must be lower case: set opensearch.index (e.g. 'orders')",
        ),
    ],
)  # fmt: skip
def test_bad_setting_is_one_line_naming_it_with_exit_code_2(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    result = _cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


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
    config = json.loads(result.stdout)["config"]
    assert config["topics.regex"].startswith("steam|steam\\.")  # the default topic and every dataset's
    assert "s3cret" not in result.stdout + result.stderr


def test_connect_config_says_its_group_and_dead_letter_topic_and_warns_about_a_version_that_fails() -> None:
    result = _cli("connect-config", "--topic", "steam", "--name", "sink", "--connector-version", "4.0.1")
    assert result.returncode == 0
    assert json.loads(result.stdout)["config"]["errors.deadletterqueue.topic.name"] == "sink.dlq"
    warning, where = result.stderr.splitlines()
    assert warning.startswith("spoolbridge: warning: connector 4.0.1 fails its task")
    assert "use 3.1.1" in warning
    assert where == "spoolbridge: consumer group connect-sink, dead-letter topic sink.dlq"


def test_connect_config_accepts_a_build_of_the_connector_main_without_a_warning() -> None:
    result = _cli("connect-config", "--connector-version", "4.1.0-SNAPSHOT")
    assert result.returncode == 0
    assert json.loads(result.stdout)["config"]["connector.class"].endswith(".OpenSearchSinkConnector")
    assert "warning" not in result.stderr


def test_connect_config_refuses_a_name_that_would_dead_letter_into_a_dataset_topic() -> None:
    result = _cli("connect-config", "--topic", "steam", "--name", "steam.games")
    assert result.returncode == 2
    assert result.stderr.startswith("spoolbridge: error: setting --name: 'steam.games' would make")
    assert result.stdout == ""


def test_nothing_configured_and_no_stack_says_to_start_it(tmp_path: Path) -> None:
    result = _cli("status", env={"XDG_STATE_HOME": str(tmp_path / "state")})  # no stack runs there
    assert result.returncode == 2
    assert result.stderr == (
        "spoolbridge: error: setting kafka.bootstrap_servers: is not set and no local stack is running: "
        "start one with `spoolbridge stack up` (or `spoolbridge run`, which starts it), or set this to your "
        "service\n"
    )


@pytest.mark.timeout(60)
def test_status_against_unreachable_kafka_is_one_line_with_the_fix() -> None:
    result = _cli(
        "status", "--bootstrap-servers", "127.0.0.1:9", "--opensearch-url", "http://127.0.0.1:9", timeout=50
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # librdkafka's own lines do not reach the terminal
    assert lines[0].startswith("spoolbridge: error: Kafka at 127.0.0.1:9 cannot be reached (")
    assert "check kafka.bootstrap_servers" in lines[0]
    assert lines[0].endswith("or start the local stack with `spoolbridge stack up`")


@pytest.mark.parametrize("command", ["status", "consume", "produce"])
def test_a_key_of_another_certificate_names_kafka_ssl_keyfile(command: str, tmp_path: Path) -> None:
    from spoolbridge.stack.certs import ensure_test_pki

    mine, other = ensure_test_pki(tmp_path / "mine"), ensure_test_pki(tmp_path / "other")
    (tmp_path / "inbox").mkdir()
    env = {
        "SPOOLBRIDGE_KAFKA__SECURITY_PROTOCOL": "SSL",
        "SPOOLBRIDGE_KAFKA__SSL_CAFILE": str(mine.ca),
        "SPOOLBRIDGE_KAFKA__SSL_CERTFILE": str(mine.client_cert),
        "SPOOLBRIDGE_KAFKA__SSL_KEYFILE": str(other.client_key),
        "SPOOLBRIDGE_PRODUCER__INBOX": str(tmp_path / "inbox"),
    }
    flags = ["--bootstrap-servers", "127.0.0.1:9", "--opensearch-url", "http://127.0.0.1:9"]
    result = _cli(command, *flags, env=env)
    assert result.returncode == 2
    expected = f"spoolbridge: error: setting kafka.ssl_keyfile: {other.client_key} is not the key of the "
    assert result.stderr.startswith(expected + "certificate in kafka.ssl_certfile"), result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.integration
def test_status_against_unreachable_opensearch_is_one_line_with_the_fix(endpoints: Endpoints) -> None:
    flags = [
        "--bootstrap-servers",
        endpoints.bootstrap_servers,
        "--opensearch-url",
        "http://u:hunter2@127.0.0.1:9",
    ]
    result = _cli("status", *flags)
    assert result.returncode == 1
    assert result.stderr == (
        "spoolbridge: error: OpenSearch at http://u:***@127.0.0.1:9 cannot be reached; check opensearch.url, "
        "or start the local stack with `spoolbridge stack up`\n"
    )
