"""The two JVMs of the local stack: a single-node KRaft Kafka broker and a single-node OpenSearch.

Each knows how to lay out its folder, build its command line, start in the background and tell when it
answers. Neither keeps state in memory: the pid lives in ``<service dir>/pid`` so another process
(``spoolbridge stack down``) can stop exactly what ``up`` started.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from schemas.errors import StackError
from schemas.settings import StackSettings

from . import processes
from .certs import TlsFiles, ensure_test_pki
from .opensearch_security import (
    ADMIN_USERNAME,
    CLIENT_USERNAME,
    PLUGIN_CLASS,
    SecurityUser,
    client_ssl_context,
    plugin_jars,
    write_config,
)
from .sasl import SaslUser
from .toolchain import compile_launcher, require_java, resolve_classpath, resource_text, unpack_zip

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
OPENSEARCH_VERSION = "2.19.6"


class JvmService(ABC):
    """One background JVM with its folder ``<stack dir>/<name>/`` holding pid, log and data."""

    name: str
    version: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.stack_dir = settings.dir.resolve()
        self.home = self.stack_dir / self.name
        self.build_dir = self.stack_dir / "build"
        self.marker = processes.marker_for(self.stack_dir)

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    @abstractmethod
    def ports(self) -> dict[str, int]: ...

    @abstractmethod
    def prepare(self) -> list[str]:
        """Resolve jars, write config, format storage; return the command line."""

    @abstractmethod
    def answers(self) -> bool:
        """True once the service serves client requests."""

    def pid(self) -> int | None:
        """The recorded pid if that process is still the one this stack started."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if processes.is_ours(pid, self.marker) else None

    def start(self) -> int:
        """Start unless running; returns the pid once the service answers. Raises StackError."""
        running = self.pid()
        if running is not None:
            return running
        pid = self.launch()
        self.wait_until_answering(pid)
        return pid

    def check_ports(self) -> None:
        """Raise StackError naming the first of this service's ports that something else holds."""
        for label, port in self.ports.items():
            if not processes.port_is_free(port):
                raise StackError(
                    f"port {port} ({self.name} {label}) is already in use by another process: stop it, or "
                    f"choose another port (SPOOLBRIDGE_STACK__{self.name.upper()}_"
                    f"{'PORT' if label == 'client' else label.upper() + '_PORT'})"
                )

    def launch(self) -> int:
        """Check the ports, prepare and start the JVM in the background; returns its pid at once."""
        self.check_ports()
        cmd = self.prepare()
        self.home.mkdir(parents=True, exist_ok=True)
        pid = processes.start_background(cmd, self.log_file, cwd=self.home)
        self.pid_file.write_text(f"{pid}\n")
        return pid

    def wait_until_answering(self, pid: int) -> None:
        """Block until the service answers; StackError (with the log's tail) if it dies or times out."""
        deadline = time.monotonic() + self.settings.start_timeout_secs
        while time.monotonic() < deadline:
            if not processes.is_alive(pid):
                raise StackError(
                    f"{self.name} exited during start-up; last lines of {self.log_file}:\n"
                    f"{processes.tail(self.log_file)}"
                )
            if self.answers():
                return
            time.sleep(0.25)
        processes.stop(pid)
        raise StackError(
            f"{self.name} did not answer within {self.settings.start_timeout_secs:.0f} s; see {self.log_file}"
        )

    def stop(self) -> bool:
        """Stop the process this stack started, if any; True when one was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        processes.stop(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _jvm_base(self, heap_mb: int) -> list[str]:
        return [require_java(), f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+UseG1GC", self.marker]


class KafkaBroker(JvmService):
    """Kafka in KRaft mode (broker + controller) with Aiven's two ways in: an SSL listener needing a client
    certificate, and a SASL_SSL listener with a SCRAM-SHA-256 user (same server certificate, no client
    certificate); plus PLAINTEXT, which also carries the broker's own traffic."""

    name = "kafka"
    version = KAFKA_VERSION

    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings)
        # storage formatted before the stack had a SASL listener: the user is created once it answers
        self._create_user_after_start = False

    @property
    def ports(self) -> dict[str, int]:
        s = self.settings
        return {
            "client": s.kafka_port,
            "ssl": s.kafka_ssl_port,
            "sasl": s.kafka_sasl_port,
            "controller": s.kafka_controller_port,
        }

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.stack_dir / "tls")

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def ssl_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_ssl_port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_sasl_port}"

    @property
    def sasl(self) -> SaslUser:
        return SaslUser(self.home / "sasl-password")

    def prepare(self) -> list[str]:
        classpath = resolve_classpath("kafka-pom.xml", self.build_dir)
        tls = ensure_test_pki(self.tls.dir)
        self.home.mkdir(parents=True, exist_ok=True)
        log4j = self.home / "log4j2.properties"
        log4j.write_text(resource_text("kafka-log4j2.properties"))
        props = self.home / "server.properties"
        props.write_text(self._server_properties(tls))
        base = [*self._jvm_base(self.settings.kafka_heap_mb), f"-Dlog4j2.configurationFile={log4j}"]
        if (self.home / "data" / "meta.properties").is_file():
            self._create_user_after_start = not self.sasl.exists()
        else:
            self._format_storage([*base, "-cp", classpath], props)
        return [*base, "-cp", classpath, "kafka.Kafka", str(props)]

    def _format_storage(self, java: list[str], props: Path) -> None:
        """Format the data folder with a new cluster id and the SASL user (a new password, stored first,
        so a formatted user always has its file; a failed format's file is replaced by the next one)."""
        password = self.sasl.random_password()
        self.sasl.store(password)
        result = subprocess.run(
            [
                *java,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                uuid.uuid4().hex[:22],
                "-c",
                str(props),
                "--add-scram",
                self.sasl.scram_argument(password),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = f"{result.stdout[-300:]}{result.stderr[-300:]}".replace(password, "***")
            raise StackError(f"formatting Kafka storage failed: {output}")

    def wait_until_answering(self, pid: int) -> None:
        super().wait_until_answering(pid)
        if self._create_user_after_start:
            from confluent_kafka.admin import AdminClient

            conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers, "logger": log}
            password = self.sasl.random_password()
            self.sasl.create_on(AdminClient(conf), password)
            self.sasl.store(password)  # only once the user exists: a failed attempt is retried next start
            self._create_user_after_start = False

    def _server_properties(self, tls: TlsFiles) -> str:
        s = self.settings
        client_listeners = (
            f"PLAINTEXT://127.0.0.1:{s.kafka_port},SSL://127.0.0.1:{s.kafka_ssl_port},"
            f"SASL_SSL://127.0.0.1:{s.kafka_sasl_port}"
        )
        mechanism = self.sasl.mechanism
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{s.kafka_controller_port}",
                "controller.listener.names=CONTROLLER",
                f"listeners={client_listeners},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                f"advertised.listeners={client_listeners}",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
                f"log.dirs={self.home / 'data'}",
                # like Aiven: topics are created up front, never on first use
                "auto.create.topics.enable=false",
                "num.partitions=1",
                "default.replication.factor=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "num.network.threads=2",
                "num.io.threads=2",
                "num.recovery.threads.per.data.dir=1",
                "log.cleaner.threads=1",
                "log.cleaner.dedupe.buffer.size=16777216",
                "ssl.keystore.type=PEM",
                f"ssl.keystore.location={tls.server_keystore}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={tls.ca}",
                "ssl.client.auth=required",
                # SASL_SSL as Aiven offers it: the same server certificate, a SCRAM login, no client cert
                f"sasl.enabled.mechanisms={mechanism}",
                "listener.name.sasl_ssl.ssl.client.auth=none",
                f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "",
            ]
        )

    def answers(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if not processes.port_answers(self.settings.kafka_port):
            return False
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers, "logger": log}
        admin = AdminClient(conf)
        try:
            metadata = admin.list_topics(timeout=2)
        except Exception:  # KafkaException while the broker is still starting
            return False
        s = self.settings
        return (
            bool(metadata.brokers)
            and processes.port_answers(s.kafka_ssl_port)
            and processes.port_answers(s.kafka_sasl_port)
        )


class OpenSearchNode(JvmService):
    """A single-node OpenSearch cluster run by the embedded-node launcher: with ``stack.opensearch_security``
    the security plugin serves HTTPS with basic auth (see :mod:`.opensearch_security`), else plain HTTP."""

    name = "opensearch"
    version = OPENSEARCH_VERSION

    @property
    def ports(self) -> dict[str, int]:
        return {"client": self.settings.opensearch_port, "transport": self.settings.opensearch_transport_port}

    @property
    def secured(self) -> bool:
        """Whether the node serves HTTPS + auth: what the running node was started with, else the setting."""
        if self.pid() is not None:
            return self._secured_marker.is_file()
        return self.settings.opensearch_security

    @property
    def _secured_marker(self) -> Path:
        return self.home / "security-on"

    @property
    def url(self) -> str:
        scheme = "https" if self.secured else "http"
        return f"{scheme}://127.0.0.1:{self.settings.opensearch_port}"

    @property
    def ca_file(self) -> Path:
        """The CA that verifies the node's certificate (the stack's one CA, also Kafka's)."""
        return TlsFiles(self.stack_dir / "tls").ca

    @property
    def admin(self) -> SecurityUser:
        return SecurityUser(ADMIN_USERNAME, self.home / f"{ADMIN_USERNAME}-password")

    @property
    def client_user(self) -> SecurityUser:
        """The least-privilege user spoolbridge connects as: only ``stack.opensearch_index_patterns``."""
        return SecurityUser(CLIENT_USERNAME, self.home / f"{CLIENT_USERNAME}-password")

    def prepare(self) -> list[str]:
        classpath = resolve_classpath("opensearch-pom.xml", self.build_dir)
        launcher = compile_launcher(self.build_dir, classpath)
        s = self.settings
        config_dir = self.home / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        plugins = ""
        if s.opensearch_security:
            plugin_dir = unpack_zip(
                "opensearch-security-pom.xml", self.build_dir, self.build_dir / "security"
            )
            jars = plugin_jars(plugin_dir, classpath)
            hasher = [
                require_java(),
                "-cp",
                ":".join([*jars, classpath]),
                "org.opensearch.security.tools.Hasher",
            ]
            tls = ensure_test_pki(self.stack_dir / "tls")
            write_config(
                config_dir, tls, self.admin.ensure(hasher), self.client_user.ensure(hasher),
                s.opensearch_index_patterns,
            )  # fmt: skip
            classpath = ":".join([classpath, *jars])
            plugins = PLUGIN_CLASS
            self._secured_marker.write_text("1\n")
        else:
            (config_dir / "opensearch.yml").write_text("")  # no security settings left from a secured start
            self._secured_marker.unlink(missing_ok=True)
        return [
            *self._jvm_base(s.opensearch_heap_mb),
            f"-Dos.home={self.home}",
            "-Dos.host=127.0.0.1",
            f"-Dos.http.port={s.opensearch_port}",
            f"-Dos.transport.port={s.opensearch_transport_port}",
            "-Dos.cluster.name=spoolbridge-local",
            "-Dos.log.level=warn",
            f"-Dos.plugins={plugins}",
            "-cp",
            f"{launcher}:{classpath}",
            "OpenSearchLauncher",
        ]

    def wait_until_answering(self, pid: int) -> None:
        super().wait_until_answering(pid)
        self._default_to_no_replicas()

    def _default_to_no_replicas(self) -> None:
        """One node can never place a replica: an index created with OpenSearch's default of 1 would stay
        yellow. OpenSearch reads this default from the cluster's settings only (not the node's), so it is
        set there, persistently, on every start (the same value each time)."""
        body = json.dumps({"persistent": {"cluster.default_number_of_replicas": 0}}).encode()
        try:
            self.request_json("PUT", "/_cluster/settings", body, timeout=30)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise StackError(f"setting OpenSearch's default of 0 replicas failed: {exc}") from None

    def request_json(self, method: str, path: str, body: bytes | None = None, timeout: float = 2) -> Any:
        """One request as the admin user (over HTTPS, verified by the stack's CA, when secured)."""
        headers = {"Content-Type": "application/json"}
        context = None
        if self.secured:
            headers["Authorization"] = self.admin.basic_auth_header()
            context = client_ssl_context(self.ca_file)
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.loads(response.read())

    def answers(self) -> bool:
        health = self.get_json("/_cluster/health")
        return health is not None and health.get("status") in ("green", "yellow")

    def get_json(self, path: str) -> dict[str, object] | None:
        try:
            body: dict[str, object] = self.request_json("GET", path)
            return body
        except (urllib.error.URLError, OSError, ValueError):
            return None
