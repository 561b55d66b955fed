"""``spoolbridge check`` against the real stack: passes when right, names the fix when a setting is wrong."""

from __future__ import annotations

import base64
import http.server
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from spoolbridge.stack.certs import ensure_test_pki
from tests.conftest import Endpoints

pytestmark = pytest.mark.integration


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", "check", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )


def _fail_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAIL")]


def test_check_passes_against_the_local_stack(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    result = _check(endpoints.env(), "--topic", unique_name("check"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _fail_lines(result.stdout) == []
    for step in ("Kafka reachable", "Kafka produce", "OpenSearch reachable", "OpenSearch write"):
        assert f"ok   {step}" in result.stdout
    assert "WARN" not in result.stdout  # the broker's default retention is a week


def test_check_warns_when_a_dataset_topic_keeps_records_for_less_than_a_day(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    topic = unique_name("short")
    admin = AdminClient({"bootstrap.servers": endpoints.bootstrap_servers})
    new = NewTopic(topic, num_partitions=1, replication_factor=1, config={"retention.ms": "3600000"})
    admin.create_topics([new])[topic].result(timeout=30)
    result = _check(endpoints.env(), "--topic", topic)
    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not a failure
    warned = [line for line in result.stdout.splitlines() if line.startswith("WARN")]
    assert warned == [
        f"WARN Kafka topic {topic} retention: retention.ms = 3600000 (1 h): records the consumer has not "
        "indexed within that are deleted by Kafka and lost"
    ], result.stdout
    assert f"raise retention.ms of {topic} to at least 86400000 (a day)" in result.stdout


def test_check_names_the_wrong_kafka_port(endpoints: Endpoints, unique_name: Callable[[str], str]) -> None:
    env = endpoints.env()
    env["SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS"] = "127.0.0.1:1"
    result = _check(env, "--topic", unique_name("check"))
    assert result.returncode == 1
    assert _fail_lines(result.stdout)[0].startswith("FAIL Kafka reachable")
    assert "nothing accepts connections at 127.0.0.1:1: check kafka.bootstrap_servers" in result.stdout
    assert "ok   OpenSearch write" in result.stdout  # the other service is still checked


def test_check_names_a_client_certificate_the_broker_refuses(
    endpoints: Endpoints, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    assert endpoints.tls is not None and endpoints.ssl_bootstrap_servers is not None
    stranger = ensure_test_pki(
        tmp_path / "other-ca"
    )  # a client certificate from a CA the broker does not know
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS=endpoints.ssl_bootstrap_servers,
        SPOOLBRIDGE_KAFKA__SECURITY_PROTOCOL="SSL",
        SPOOLBRIDGE_KAFKA__SSL_CAFILE=str(endpoints.tls.ca),
        SPOOLBRIDGE_KAFKA__SSL_CERTFILE=str(stranger.client_cert),
        SPOOLBRIDGE_KAFKA__SSL_KEYFILE=str(stranger.client_key),
    )
    topic = unique_name("check")
    result = _check(env, "--topic", topic)
    assert result.returncode == 1
    assert "the broker refused the client certificate: check kafka.ssl_certfile" in result.stdout, (
        result.stdout
    )

    env["SPOOLBRIDGE_KAFKA__SSL_CERTFILE"] = str(endpoints.tls.client_cert)
    env["SPOOLBRIDGE_KAFKA__SSL_KEYFILE"] = str(endpoints.tls.client_key)
    good = _check(env, "--topic", topic)
    assert "ok   Kafka reachable: 1 broker(s), TLS handshake ok" in good.stdout, good.stdout


def _sasl_env(endpoints: Endpoints, **login: str) -> dict[str, str]:
    """The environment the README's Aiven section gives for SASL_SSL, pointed at the test listener."""
    env = endpoints.env()
    env.update(endpoints.require_sasl().settings_env(**login))
    return env


def test_check_passes_over_sasl_ssl_as_aiven_offers_it(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    sasl = endpoints.require_sasl()
    result = _check(_sasl_env(endpoints), "--topic", unique_name("check"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _fail_lines(result.stdout) == []
    assert f"ok   Kafka settings: SASL_SSL to {sasl.bootstrap_servers}" in result.stdout
    assert "ok   Kafka reachable: 1 broker(s), TLS + SASL login ok" in result.stdout
    assert "ok   Kafka produce" in result.stdout
    assert sasl.password() not in result.stdout + result.stderr


@pytest.mark.parametrize("wrong", ["password", "username"])
def test_check_with_a_wrong_sasl_login_names_the_password_and_prints_no_password(
    endpoints: Endpoints, unique_name: Callable[[str], str], wrong: str
) -> None:
    sasl = endpoints.require_sasl()
    right_password, wrong_password = sasl.password(), f"wrong-{uuid.uuid4().hex}"
    login = {"password": wrong_password} if wrong == "password" else {"username": unique_name("nobody")}
    result = _check(_sasl_env(endpoints, **login), "--topic", unique_name("check"))
    assert result.returncode == 1, result.stdout
    fails = _fail_lines(result.stdout)
    assert len(fails) == 1 and fails[0].startswith("FAIL Kafka reachable:"), result.stdout
    assert "Authentication failed" in fails[0]
    naming = [line.strip() for line in result.stdout.splitlines() if "kafka.sasl_password" in line]
    assert len(naming) == 1, result.stdout
    assert naming[0].startswith("fix: the broker rejected the SASL login of user ")
    assert "check kafka.sasl_password and kafka.sasl_username" in naming[0]  # as the README says
    for password in (right_password, wrong_password):
        assert password not in result.stdout + result.stderr
    assert "ok   OpenSearch write" in result.stdout  # the other service is still checked


def test_check_names_a_missing_certificate_file(endpoints: Endpoints, tmp_path: Path) -> None:
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_KAFKA__SECURITY_PROTOCOL="SSL", SPOOLBRIDGE_KAFKA__SSL_CAFILE=str(tmp_path / "ca.pem")
    )
    result = _check(env)
    assert result.returncode == 1
    assert "FAIL Kafka settings: setting kafka.ssl_cafile: file not found" in result.stdout


class _BasicAuthProxy(http.server.BaseHTTPRequestHandler):
    """A plain-HTTP reverse proxy in front of the real node that demands a password of its own; it reaches
    the node as the tests do (HTTPS and the least-privilege user when the node is secured)."""

    upstream: Endpoints
    credentials = base64.b64encode(b"avnadmin:right-password").decode()

    def _forward(self) -> None:
        if self.headers.get("Authorization") != f"Basic {self.credentials}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="opensearch"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        status, payload = self.upstream.opensearch_request(self.command, self.path, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def password_protected_opensearch(endpoints: Endpoints) -> Iterator[str]:
    handler = type("Proxy", (_BasicAuthProxy,), {"upstream": endpoints})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_check_names_a_wrong_opensearch_password(
    endpoints: Endpoints, password_protected_opensearch: str, unique_name: Callable[[str], str]
) -> None:
    env = endpoints.env()
    env["SPOOLBRIDGE_OPENSEARCH__URL"] = f"http://avnadmin:wrong-password@{password_protected_opensearch}"
    result = _check(env, "--topic", unique_name("check"))
    assert result.returncode == 1
    assert "FAIL OpenSearch credentials: 401 Unauthorized" in result.stdout
    assert "the user name or password in opensearch.url is wrong" in result.stdout
    assert "wrong-password" not in result.stdout + result.stderr

    env["SPOOLBRIDGE_OPENSEARCH__URL"] = f"http://avnadmin:right-password@{password_protected_opensearch}"
    good = _check(env, "--topic", unique_name("check"))
    assert good.returncode == 0, good.stdout
    assert "ok   OpenSearch credentials: accepted" in good.stdout
    assert "right-password" not in good.stdout + good.stderr


def test_check_covers_each_dataset_and_names_its_own_index_body(
    endpoints: Endpoints, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    cars, books = unique_name("cars"), unique_name("books")
    (tmp_path / "books-index.json").write_text("{not json")
    config = tmp_path / "spoolbridge.toml"
    config.write_text(
        f'[datasets.{cars}]\nindex = "{cars}-index"\n\n'
        f'[datasets.{books}]\nindex_body_file = "{tmp_path / "books-index.json"}"\n'
    )
    topic = unique_name("check")
    result = _check(endpoints.env(), "--topic", topic, "--config", str(config))
    assert result.returncode == 1
    assert f"ok   Kafka topic of dataset {cars} {topic}.{cars}" in result.stdout
    assert f"ok   OpenSearch index {cars}-index (dataset {cars})" in result.stdout
    assert _fail_lines(result.stdout) == [
        f"FAIL OpenSearch index {books} (dataset {books}): setting datasets.{books}.index_body_file: "
        + _fail_lines(result.stdout)[0].split("index_body_file: ", 1)[1]
    ]


def _readme_opensearch_exports() -> dict[str, str]:
    """The ``export`` lines of the OpenSearch block of the README's "Connecting to Aiven"."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Connecting to Aiven\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    blocks = [b for b in re.findall(r"```\n(.*?)```", section, flags=re.DOTALL) if "OPENSEARCH" in b]
    assert len(blocks) == 1, blocks
    return dict(re.findall(r"^export (SPOOLBRIDGE_OPENSEARCH__\w+)=(\S+)", blocks[0], flags=re.MULTILINE))


def test_the_readme_aiven_opensearch_settings_pass_check_against_the_secured_stack(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    """As Aiven hands them out: the service URI with its user and password, verified TLS (the local CA in
    place of Aiven's public one), a user allowed on some indices only (the stack's spoolbridge user)."""
    if not endpoints.opensearch_secured or endpoints.opensearch_ca_file is None:
        pytest.fail(
            "this test needs OpenSearch over HTTPS with users: restart the local stack "
            "(`spoolbridge stack down && spoolbridge stack up`; stack.opensearch_security is on by default)"
        )
    exports = _readme_opensearch_exports()
    assert exports == {
        "SPOOLBRIDGE_OPENSEARCH__URL": "'https://avnadmin:PASSWORD@os-xxxx.aivencloud.com:12345'",
        "SPOOLBRIDGE_OPENSEARCH__CA_FILE": "ca.pem",
    }
    stack = urlsplit(endpoints.opensearch_url)
    url = exports["SPOOLBRIDGE_OPENSEARCH__URL"].strip("'")
    url = url.replace("avnadmin", stack.username or "").replace("PASSWORD", stack.password or "")
    url = url.replace("os-xxxx.aivencloud.com:12345", f"{stack.hostname}:{stack.port}")
    env = endpoints.env()
    env.update(
        SPOOLBRIDGE_OPENSEARCH__URL=url, SPOOLBRIDGE_OPENSEARCH__CA_FILE=str(endpoints.opensearch_ca_file)
    )
    result = _check(env, "--topic", unique_name("aiven"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"ok   OpenSearch reachable: https://{stack.username}:***@{stack.hostname}:{stack.port}"
        in result.stdout
    )
    assert "ok   OpenSearch credentials: accepted" in result.stdout
    assert "ok   OpenSearch write" in result.stdout
    assert (stack.password or "-") not in result.stdout + result.stderr

    env["SPOOLBRIDGE_OPENSEARCH__URL"] = url.replace(f":{stack.password}@", ":wrong@")
    wrong = _check(env, "--topic", unique_name("aiven"))
    assert "FAIL OpenSearch credentials: 401 Unauthorized" in wrong.stdout, wrong.stdout
    del env["SPOOLBRIDGE_OPENSEARCH__CA_FILE"]  # the system's CAs do not know the local one
    untrusted = _check(env, "--topic", unique_name("aiven"))
    assert "opensearch.ca_file" in untrusted.stdout, untrusted.stdout
