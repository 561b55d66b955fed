"""Test harness: real Kafka and OpenSearch for integration and end-to-end tests.

Endpoints, in order of preference (bring-your-own-cluster, as confluent-kafka-python's fixtures do):

1. ``SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS`` and ``SPOOLBRIDGE_OPENSEARCH__URL`` when both are set
   (an HTTPS node's CA: ``SPOOLBRIDGE_OPENSEARCH__CA_FILE``; a user that may do everything, for the tests
   that change roles or read every index: ``SPOOLBRIDGE_TEST_OPENSEARCH_ADMIN_URL``; the TLS listener:
   ``SPOOLBRIDGE_TEST_SSL_BOOTSTRAP_SERVERS`` and ``SPOOLBRIDGE_TEST_TLS_DIR`` with ca.pem,
   service.cert, service.key; the SASL_SSL listener: ``SPOOLBRIDGE_TEST_SASL_BOOTSTRAP_SERVERS``,
   ``…_SASL_USERNAME`` and ``…_SASL_PASSWORD_FILE``, its CA the TLS folder's ca.pem);
2. a local stack already running in its per-user folder (``spoolbridge stack up``; ``stack.dir``), left
   running;
   ``SPOOLBRIDGE_STACK__*`` settings (ports, heaps) apply to it and to the next one;
3. otherwise a local stack started for this test session in a temporary folder and stopped after it
   (with ``pytest -n N``, one stack that every worker shares: ``make test`` runs the tests in parallel).

A local stack's OpenSearch runs the security plugin unless ``stack.opensearch_security=false``: then every
test reaches it over HTTPS (verified by the stack's CA) as the least-privilege user ``spoolbridge``, as the
consumer, ``check``, ``status`` and the page would; only :meth:`Endpoints.opensearch_client` with
``admin=True`` (changing roles, reading hidden indices) is the admin.

Unit tests never ask for these fixtures, so they open no sockets. Names are unique per test.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import Settings, StackSettings, load_settings
from spoolbridge.stack.certs import TlsFiles
from spoolbridge.stack.manager import LocalStack
from spoolbridge.stack.sasl import SASL_MECHANISM
from tests.index_health import session_indices_not_green


@dataclass(frozen=True)
class SaslEndpoint:
    """A SASL_SSL listener with a SCRAM user, as Aiven offers one: its password is read from a file."""

    bootstrap_servers: str
    username: str
    password_file: Path
    ca_file: Path
    mechanism: str = SASL_MECHANISM

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def client_config(self, *, username: str | None = None, password: str | None = None) -> dict[str, Any]:
        """librdkafka settings for this listener (another user or password when given)."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username if username is None else username,
            "sasl.password": self.password() if password is None else password,
            "ssl.ca.location": str(self.ca_file),
        }

    def settings_env(self, *, username: str | None = None, password: str | None = None) -> dict[str, str]:
        """``SPOOLBRIDGE_KAFKA__*`` variables that point spoolbridge at this listener, as the README says."""
        return {
            "SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "SPOOLBRIDGE_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "SPOOLBRIDGE_KAFKA__SASL_MECHANISM": self.mechanism,
            "SPOOLBRIDGE_KAFKA__SASL_USERNAME": self.username if username is None else username,
            "SPOOLBRIDGE_KAFKA__SASL_PASSWORD": self.password() if password is None else password,
            "SPOOLBRIDGE_KAFKA__SSL_CAFILE": str(self.ca_file),
        }


@dataclass(frozen=True)
class Endpoints:
    """Where the tests' Kafka and OpenSearch are. ``opensearch_url`` carries the least-privilege user's
    credentials when the node has users (``https://spoolbridge:…@host:port``), verified by
    ``opensearch_ca_file``; ``opensearch_admin_url`` is the same node as a user that may do everything."""

    bootstrap_servers: str
    opensearch_url: str = field(repr=False)  # its password never in a test report
    ssl_bootstrap_servers: str | None = None
    tls: TlsFiles | None = None
    sasl: SaslEndpoint | None = None
    stack: LocalStack | None = None
    opensearch_ca_file: Path | None = None
    opensearch_admin_url: str | None = field(default=None, repr=False)

    @property
    def opensearch_secured(self) -> bool:
        return self.opensearch_url.startswith("https://")

    def opensearch_settings(self) -> dict[str, Any]:
        """The ``opensearch`` settings section that reaches the node as the least-privilege user."""
        section: dict[str, Any] = {"url": self.opensearch_url}
        if self.opensearch_ca_file is not None:
            section["ca_file"] = self.opensearch_ca_file
        return section

    def opensearch_client(self, *, admin: bool = False, timeout: float = 60) -> Any:
        """An opensearch-py client of the node (as the admin when ``admin``; the caller closes it)."""
        from opensearchpy import OpenSearch

        url = (self.opensearch_admin_url or self.opensearch_url) if admin else self.opensearch_url
        kwargs: dict[str, Any] = {"timeout": timeout}
        if self.opensearch_ca_file is not None and url.startswith("https://"):
            kwargs["ca_certs"] = str(self.opensearch_ca_file)
        return OpenSearch(url, **kwargs)

    def opensearch_request(
        self, method: str, path: str, body: bytes | None = None, *, admin: bool = False
    ) -> tuple[int, bytes]:
        """One raw HTTP request to the node (TLS and basic auth as :meth:`opensearch_client`); returns
        (status, body) for every status, 4xx and 5xx included."""
        import base64
        import ssl
        import urllib.error
        import urllib.request
        from urllib.parse import urlsplit

        url = (self.opensearch_admin_url or self.opensearch_url) if admin else self.opensearch_url
        parts = urlsplit(url)
        headers = {"Content-Type": "application/json"}
        if parts.username is not None:
            token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        context = None
        if parts.scheme == "https":
            ca = str(self.opensearch_ca_file) if self.opensearch_ca_file else None
            context = ssl.create_default_context(cafile=ca)
        plain = f"{parts.scheme}://{parts.hostname}:{parts.port}{path}"
        request = urllib.request.Request(plain, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60, context=context) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def require_sasl(self) -> SaslEndpoint:
        """The SASL_SSL listener; fails the test (never skips it) when none is known."""
        if self.sasl is None:
            pytest.fail(
                "no SASL_SSL listener known: set SPOOLBRIDGE_TEST_SASL_BOOTSTRAP_SERVERS, "
                "SPOOLBRIDGE_TEST_SASL_USERNAME, SPOOLBRIDGE_TEST_SASL_PASSWORD_FILE and "
                "SPOOLBRIDGE_TEST_TLS_DIR, "
                "or restart the local stack (`spoolbridge stack down && spoolbridge stack up`) so it has one"
            )
        return self.sasl

    def env(self) -> dict[str, str]:
        """Environment for a spoolbridge subprocess that should use these endpoints."""
        env = dict(os.environ)
        env["SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        env["SPOOLBRIDGE_OPENSEARCH__URL"] = self.opensearch_url
        if self.opensearch_ca_file is not None:
            env["SPOOLBRIDGE_OPENSEARCH__CA_FILE"] = str(self.opensearch_ca_file)
        return env


def _endpoints_of(stack: LocalStack) -> Endpoints:
    kafka = stack.kafka
    sasl = None
    if kafka.sasl.exists():  # a stack started before it had a SASL listener has no password file
        sasl = SaslEndpoint(
            kafka.sasl_bootstrap_servers, kafka.sasl.username, kafka.sasl.password_file, kafka.tls.ca
        )
    node = stack.opensearch
    url, admin_url, ca_file = node.url, None, None
    if node.secured:  # as the consumer connects with no OpenSearch configured: the least-privilege user
        host = node.url.removeprefix("https://")
        url = f"https://{node.client_user.username}:{node.client_user.password()}@{host}"
        admin_url = f"https://{node.admin.username}:{node.admin.password()}@{host}"
        ca_file = node.ca_file
    return Endpoints(
        bootstrap_servers=kafka.bootstrap_servers,
        opensearch_url=url,
        ssl_bootstrap_servers=kafka.ssl_bootstrap_servers,
        tls=kafka.tls,
        sasl=sasl,
        stack=stack,
        opensearch_ca_file=ca_file,
        opensearch_admin_url=admin_url,
    )


def _sasl_from_env(tls: TlsFiles | None) -> SaslEndpoint | None:
    servers = os.environ.get("SPOOLBRIDGE_TEST_SASL_BOOTSTRAP_SERVERS")
    username = os.environ.get("SPOOLBRIDGE_TEST_SASL_USERNAME")
    password_file = os.environ.get("SPOOLBRIDGE_TEST_SASL_PASSWORD_FILE")
    if not (servers and username and password_file and tls):
        return None
    return SaslEndpoint(servers, username, Path(password_file), tls.ca)


#: The 8-hex tokens of every name ``unique_name`` made in this session (see :mod:`tests.index_health`).
_SESSION_TOKENS: set[str] = set()


def _fail_unless_session_indices_green(found: Endpoints) -> None:
    """Session end: every index this session's tests named must be green (0 replicas on one node)."""
    if not _SESSION_TOKENS:
        return
    client = found.opensearch_client(admin=True, timeout=30)  # hidden indices too
    try:
        bad = session_indices_not_green(client, _SESSION_TOKENS)
    finally:
        client.close()
    if bad:
        pytest.fail(
            f"{len(bad)} index(es) the tests made are not green (a replica one node cannot place): "
            + ", ".join(bad[:10])
        )


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    finding = _find_endpoints(tmp_path_factory)
    found = next(finding)
    try:
        yield found
        _fail_unless_session_indices_green(found)
    finally:
        finding.close()  # stops a stack started for this session


def _find_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Generator[Endpoints]:
    bootstrap = os.environ.get("SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS")
    url = os.environ.get("SPOOLBRIDGE_OPENSEARCH__URL")
    if bootstrap and url:
        tls_dir = os.environ.get("SPOOLBRIDGE_TEST_TLS_DIR")
        tls = TlsFiles(Path(tls_dir)) if tls_dir else None
        ca_file = os.environ.get("SPOOLBRIDGE_OPENSEARCH__CA_FILE")
        yield Endpoints(
            bootstrap_servers=bootstrap,
            opensearch_url=url,
            ssl_bootstrap_servers=os.environ.get("SPOOLBRIDGE_TEST_SSL_BOOTSTRAP_SERVERS"),
            tls=tls,
            sasl=_sasl_from_env(tls),
            opensearch_ca_file=Path(ca_file) if ca_file else None,
            opensearch_admin_url=os.environ.get("SPOOLBRIDGE_TEST_OPENSEARCH_ADMIN_URL"),
        )
        return
    configured: StackSettings = load_settings().stack  # SPOOLBRIDGE_STACK__* may move the ports
    developer_stack = LocalStack(configured)
    if developer_stack.running():
        yield _endpoints_of(developer_stack)
        return
    if _xdist_worker() is None:
        stack = LocalStack(configured.model_copy(update={"dir": tmp_path_factory.mktemp("stack")}))
        stack.up()
        try:
            yield _endpoints_of(stack)
        finally:
            stack.down()
        return
    # Parallel workers (pytest-xdist) share one stack in the run's temporary folder: the first worker
    # that needs it starts it, under a lock; the controller stops it when the run ends (see below).
    shared = LocalStack(configured.model_copy(update={"dir": _shared_stack_dir(tmp_path_factory)}))
    with _locked(shared.settings.dir.with_suffix(".lock")):
        if not shared.running():  # as a user starts it: the JVMs outlive this worker, not its children
            cmd = [sys.executable, "-m", "spoolbridge.cli", "stack", "up", "--dir", str(shared.settings.dir)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=600)
    yield _endpoints_of(shared)


def _xdist_worker() -> str | None:
    """This process's pytest-xdist worker id (``gw0``…), or ``None`` when tests run in one process."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _shared_stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stack folder every worker of a parallel run shares: beside the workers' own temporary
    folders, in the controller's (xdist gives each worker ``<controller's basetemp>/<worker id>``)."""
    return tmp_path_factory.getbasetemp().parent / "shared-stack"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller of a parallel run stops the stack its workers shared (if one was started)."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    folder = config._tmp_path_factory.getbasetemp() / "shared-stack"  # type: ignore[attr-defined]
    if folder.is_dir():
        configured: StackSettings = load_settings().stack
        LocalStack(configured.model_copy(update={"dir": folder})).down()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("orders")`` → ``orders-<test name>-<8 hex>``, lower case (valid topic and index)."""
    test = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")

    def make(prefix: str) -> str:
        token = uuid.uuid4().hex[:8]
        _SESSION_TOKENS.add(token)
        return f"{prefix}-{test}-{token}"

    return make


@pytest.fixture
def settings_factory(
    endpoints: Endpoints, unique_name: Callable[[str], str], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings wired to the test endpoints with a unique topic, index, group and inbox.

    Keyword arguments are sections to override: ``settings_factory(consumer={"max_events": 10})``.
    """

    def make(**sections: dict[str, Any]) -> Settings:
        base: dict[str, dict[str, Any]] = {
            "kafka": {"bootstrap_servers": endpoints.bootstrap_servers, "topic": unique_name("t")},
            "opensearch": {**endpoints.opensearch_settings(), "number_of_replicas": 0},
            "consumer": {"group": unique_name("g")},
            "producer": {"inbox": tmp_path / "inbox"},
        }
        for section, values in sections.items():
            base.setdefault(section, {}).update(values)
        return load_settings(base)

    return make


@pytest.fixture
def opensearch_client(endpoints: Endpoints) -> Iterator[Any]:
    """The node as the least-privilege user (as spoolbridge itself connects)."""
    client = endpoints.opensearch_client()
    yield client
    client.close()


@pytest.fixture
def opensearch_admin_client(endpoints: Endpoints) -> Iterator[Any]:
    """The node as a user that may do everything (cluster settings, roles, hidden indices)."""
    client = endpoints.opensearch_client(admin=True)
    yield client
    client.close()


@pytest.fixture
def kafka_admin(endpoints: Endpoints) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": endpoints.bootstrap_servers})


def create_topic(admin: Any, name: str, partitions: int = 1) -> None:
    """Create ``name`` and wait for it (the local stack, like Aiven, does not auto-create topics)."""
    from confluent_kafka.cimpl import NewTopic

    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    for future in futures.values():
        future.result(timeout=30)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first, by the timeout a test declares (stable: equal ones keep their order). With parallel
    workers (``make test``) the long tests then start at once, side by side, instead of ending the run
    alone on one worker."""
    items.sort(key=lambda item: -_declared_timeout(item))


def _declared_timeout(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is None or not marker.args:
        return 0.0
    return float(marker.args[0])
