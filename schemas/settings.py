"""Settings models: one place for every knob, grouped by concern.

Precedence, highest first: CLI flags (passed to :func:`load_settings` as overrides) > environment
(``SPOOLBRIDGE_…``, nested with ``__``, e.g. ``SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS``) > config file
(``spoolbridge.toml``) > defaults. Secrets are :class:`~pydantic.SecretStr` and are only revealed in
:meth:`KafkaSettings.client_config` and :meth:`OpenSearchSettings.client_kwargs`, which hand them straight
to the client libraries. Option names carry their units (``_ms``, ``_secs``, ``_bytes``).
"""

from __future__ import annotations

import ipaddress
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from schemas.errors import ConfigError
from schemas.names import dataset_name_problem, index_name_problem, suggest_dataset_name, suggest_index_name
from schemas.tls_files import check_tls_files

__all__ = [
    "ConsumerSettings",
    "DatasetSettings",
    "KafkaSettings",
    "MetricsSettings",
    "OpenSearchSettings",
    "ProducerSettings",
    "Settings",
    "StackSettings",
    "WebSettings",
    "load_settings",
]

DEFAULT_CONFIG_FILE = Path("spoolbridge.toml")
#: Why an endpoint is missing and the two ways to fix it.
NOT_SET_HINT = (
    "is not set and no local stack is running: start one with `spoolbridge stack up` "
    "(or `spoolbridge run`, which starts it), or set this to your service"
)
# The --config file of the current load_settings() call (a context variable, so no global state leaks).
_config_file: ContextVar[Path | None] = ContextVar("spoolbridge_config_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    """Where the topic lives and how to authenticate (Aiven: SSL with client cert, or SASL_SSL + SCRAM)."""

    bootstrap_servers: str | None = Field(
        default=None, description="host:port[,host:port]; unset = use the local stack"
    )
    topic: str = Field(default="spoolbridge", description="topic the records go to")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = Field(
        default="PLAINTEXT", description="Aiven: SSL (client certificate) or SASL_SSL (SCRAM)"
    )
    ssl_cafile: Path | None = Field(default=None, description="CA certificate (Aiven: ca.pem)")
    ssl_certfile: Path | None = Field(default=None, description="client certificate (Aiven: service.cert)")
    ssl_keyfile: Path | None = Field(default=None, description="client key (Aiven: service.key)")
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = Field(
        default="SCRAM-SHA-256", description="SASL mechanism (Aiven: SCRAM-SHA-256)"
    )
    sasl_username: str | None = Field(
        default=None, description="SASL user (Aiven: avnadmin or a service user)"
    )
    sasl_password: SecretStr | None = Field(default=None, description="SASL password")
    partitions: int = Field(default=3, ge=1, description="partitions when spoolbridge creates the topic")
    replication_factor: int = Field(
        default=-1, description="replication when spoolbridge creates the topic; -1 = broker default"
    )
    dlq_topic: str | None = Field(default=None, description="dead-letter topic; unset = <topic>.dlq")
    request_timeout_ms: int = Field(default=30_000, ge=1, description="Kafka admin and metadata requests")

    @field_validator("dlq_topic")
    @classmethod
    def _dlq_topic_outside_datasets(cls, dlq: str | None, info: ValidationInfo) -> str | None:
        topic = info.data.get("topic", "")
        name = dlq[len(topic) + 1 :] if dlq is not None and dlq.startswith(f"{topic}.") else None
        if name is not None and dataset_name_problem(name) is None:
            raise ValueError(
                f"{dlq!r} is the topic of dataset {name!r}; use {topic}.dlq or a name that does not "
                f"start with {topic}."
            )
        return dlq

    @property
    def dead_letter_topic(self) -> str:
        return self.dlq_topic or f"{self.topic}.dlq"

    def client_config(self) -> dict[str, str]:
        """librdkafka settings shared by producer, consumer and admin client (secrets revealed here)."""
        if self.bootstrap_servers is None:
            raise ConfigError("kafka.bootstrap_servers", NOT_SET_HINT)
        conf: dict[str, str] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            if self.ssl_cafile is not None:
                conf["ssl.ca.location"] = str(self.ssl_cafile)
            if self.ssl_certfile is not None:
                conf["ssl.certificate.location"] = str(self.ssl_certfile)
            if self.ssl_keyfile is not None:
                conf["ssl.key.location"] = str(self.ssl_keyfile)
        if self.security_protocol.startswith("SASL"):
            conf["sasl.mechanism"] = self.sasl_mechanism
            conf["sasl.username"] = self.sasl_username or ""
            conf["sasl.password"] = self.sasl_password.get_secret_value() if self.sasl_password else ""
        return conf

    def check_files(self) -> None:
        """Raise :class:`ConfigError` naming the first TLS file setting that points nowhere or to a file
        that is not what it must be (no certificate, an encrypted key, a key of another certificate)."""
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path: Path | None = getattr(self, name)
            if path is not None and not path.is_file():
                raise ConfigError(f"kafka.{name}", f"file not found: {path}")
        check_tls_files(self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile)
        if self.security_protocol.startswith("SASL"):
            for name in ("sasl_username", "sasl_password"):
                if not getattr(self, name):
                    raise ConfigError(
                        f"kafka.{name}",
                        f"{self.security_protocol} needs kafka.sasl_username and kafka.sasl_password",
                    )


class OpenSearchSettings(_Section):
    """The OpenSearch node or service. Aiven gives a service URI ``https://user:pass@host:port``."""

    url: SecretStr | None = Field(
        default=None, description="http(s)://[user:pass@]host:port; unset = use the local stack"
    )
    ca_file: Path | None = Field(default=None, description="CA certificate to verify the node")
    verify_certs: bool = Field(
        default=True,
        description="verify the node's TLS certificate (false: encrypted but unverified; warned)",
    )
    index: str | None = Field(default=None, description="target index; unset = the topic name")
    number_of_shards: int = Field(default=1, ge=1, description="shards when spoolbridge creates the index")
    number_of_replicas: int | None = Field(
        default=None,
        ge=0,
        description="replicas when spoolbridge creates the index; unset = cluster default (local stack: 0)",
    )
    index_body_file: Path | None = Field(
        default=None, description="JSON file with settings/mappings used when creating the index"
    )
    request_timeout_secs: float = Field(default=60.0, gt=0, description="per OpenSearch request")
    http_compress: bool = Field(
        default=False,
        description="gzip the bulk request bodies (fewer bytes on the wire, more CPU; see BENCHMARKS.md)",
    )

    @field_validator("url")
    @classmethod
    def _url_has_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must look like http(s)://[user:pass@]host:port")
            try:
                port = parts.port
            except ValueError:  # its text may quote the URL: never show it
                port = 0
            if port == 0:
                raise ValueError("the port must be a number from 1 to 65535")
        return value

    @field_validator("index")
    @classmethod
    def _index_is_valid(cls, value: str | None) -> str | None:
        if value is not None and (problem := index_name_problem(value)) is not None:
            raise ValueError(f"{value!r}: {problem} (e.g. {suggest_index_name(value)!r})")
        return value

    @property
    def safe_url(self) -> str:
        """The URL with any password replaced by ``***`` — the only form that may be printed."""
        if self.url is None:
            return "(unset)"
        return redact_url(self.url.get_secret_value())

    @property
    def unverified_tls(self) -> str | None:
        """The warning for an HTTPS node whose certificate is not verified (``verify_certs=false``), or
        ``None``: the connection is still encrypted, but anyone on the path can pose as the node and read
        the credentials and every document."""
        if self.verify_certs or self.url is None:
            return None
        if urlsplit(self.url.get_secret_value()).scheme != "https":
            return None
        return (
            "opensearch.verify_certs is false: the node's TLS certificate is not checked, so anyone on the "
            "path can pose as the node and read the password and every document; set opensearch.ca_file to "
            "the service's CA instead"
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``opensearchpy.OpenSearch`` (secrets revealed here)."""
        if self.url is None:
            raise ConfigError("opensearch.url", NOT_SET_HINT)
        parts = urlsplit(self.url.get_secret_value())
        port = parts.port or (443 if parts.scheme == "https" else 9200)
        kwargs: dict[str, Any] = {
            "hosts": [{"host": parts.hostname, "port": port, "url_prefix": parts.path.rstrip("/")}],
            "use_ssl": parts.scheme == "https",
            "verify_certs": self.verify_certs,
            "ssl_show_warn": False,
            "timeout": self.request_timeout_secs,
            "http_compress": self.http_compress,
        }
        if parts.username is not None:
            kwargs["http_auth"] = (parts.username, parts.password or "")
        if self.ca_file is not None:
            kwargs["ca_certs"] = str(self.ca_file)
        return kwargs


class ProducerSettings(_Section):
    """How the inbox is watched and how records become messages."""

    inbox: Path = Field(default=Path("inbox"), description="folder to watch (recursively)")
    done_dir: Path | None = Field(default=None, description="unset = <inbox>/done")
    failed_dir: Path | None = Field(default=None, description="unset = <inbox>/failed")
    settle_ms: int = Field(default=300, ge=0, description="size+mtime must be stable this long")
    id_field: str | None = Field(default=None, description="record field used as document id")
    records_path: str | None = Field(
        default=None, description="dotted path to the records inside a larger document (e.g. features)"
    )
    source_field: str = Field(default="source", description="field added to each record: the file path")
    csv_delimiter: str | None = Field(
        default=None, min_length=1, max_length=1, description="CSV/TSV field delimiter; unset = sniffed"
    )
    csv_quotechar: str | None = Field(
        default=None, min_length=1, max_length=1, description="CSV/TSV quote character; unset = sniffed"
    )
    csv_types: Literal["infer", "text"] = Field(
        default="infer",
        description="CSV/TSV values: typed per file (integers, decimals, booleans), or all text",
    )
    source_conflict: Literal["overwrite", "keep", "reject"] = Field(
        default="overwrite", description="what to do when a record already has the source field"
    )
    linger_ms: int = Field(default=50, ge=0, description="wait this long to fill a Kafka batch")
    batch_size_bytes: int = Field(default=1_000_000, ge=1, description="Kafka producer batch size")
    compression: Literal["zstd", "lz4", "snappy", "gzip", "none"] = Field(
        default="lz4", description="Kafka message compression"
    )
    max_message_bytes: int = Field(
        default=1_000_000, ge=1, description="records larger than this are rejected (topic limit)"
    )
    rescan_interval_secs: float = Field(
        default=60.0,
        ge=0,
        description="rescan the inbox this often for files no event announced (0 = only after lost events)",
    )
    follow_symlinks: bool = Field(
        default=False,
        description="read symbolic links whose target is a file inside the inbox (others go to failed/)",
    )

    @property
    def done_path(self) -> Path:
        return self.done_dir or self.inbox / "done"

    @property
    def failed_path(self) -> Path:
        return self.failed_dir or self.inbox / "failed"


class ConsumerSettings(_Section):
    """How messages are batched into bulk requests, retried and committed."""

    group: str = Field(
        default="spoolbridge",
        description="Kafka consumer group id; `status` measures its lag (Kafka Connect's: `connect-<name>`)",
    )
    max_events: int = Field(default=5000, ge=1, description="documents per bulk request at most")
    max_bytes: int = Field(default=5_000_000, ge=1, description="bulk request body size at most")
    timeout_secs: float = Field(
        default=0.2, gt=0, description="send a partial batch this long after its first document arrived"
    )
    concurrent_requests: int = Field(default=2, ge=1, description="bulk requests in flight per dataset")
    max_requests_in_flight: int = Field(
        default=6, ge=1, description="bulk requests in flight for all datasets together"
    )
    retry_initial_backoff_ms: int = Field(default=200, ge=1, description="first retry delay (then doubled)")
    retry_max_backoff_ms: int = Field(default=30_000, ge=1, description="longest retry delay")
    max_retries: int | None = Field(default=None, ge=0, description="unset = retry without limit")
    progress_interval_secs: float = Field(
        default=5.0, gt=0, description="how often a progress line is logged"
    )
    commit_interval_secs: float = Field(
        default=1.0, gt=0, description="how often final offsets are committed (and on rebalance/exit)"
    )
    session_timeout_ms: int = Field(
        default=45_000, ge=1, description="group session timeout: how soon a crashed member is replaced"
    )
    shutdown_timeout_secs: float = Field(
        default=30.0, ge=0, description="on SIGTERM/SIGINT: how long to finish in-flight work before exiting"
    )


#: ``stack.dir``'s default as documented (the README's settings table shows this, not this machine's path).
STACK_DIR_DOC = "$XDG_STATE_HOME/spoolbridge/stack (else ~/.local/state/spoolbridge/stack)"


def default_stack_dir() -> Path:
    """The local stack's per-user state folder, the same from every working folder (XDG base directories:
    ``$XDG_STATE_HOME/spoolbridge/stack``, else ``~/.local/state/spoolbridge/stack``)."""
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if Path(state_home).is_absolute() else Path.home() / ".local" / "state"
    return base / "spoolbridge" / "stack"


class StackSettings(_Section):
    """The local Kafka + OpenSearch stack (``spoolbridge stack``): ports, heaps, state folder."""

    dir: Path = Field(
        default_factory=default_stack_dir,
        description="state, data, logs and certificates; one per user, so any folder finds the stack",
        json_schema_extra={"shown_default": STACK_DIR_DOC},
    )
    kafka_port: int = Field(default=9092, ge=1, le=65535, description="plaintext listener")
    kafka_ssl_port: int = Field(
        default=9094, ge=1, le=65535, description="TLS listener, client cert required"
    )
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535, description="KRaft controller listener")
    kafka_sasl_port: int = Field(
        default=9096, ge=1, le=65535, description="SASL_SSL listener, SCRAM-SHA-256 login (no client cert)"
    )
    opensearch_port: int = Field(default=9200, ge=1, le=65535, description="OpenSearch HTTP")
    opensearch_transport_port: int = Field(default=9300, ge=1, le=65535, description="OpenSearch transport")
    opensearch_security: bool = Field(
        default=True,
        description="OpenSearch as Aiven serves it, with the security plugin: HTTPS (the stack's CA), basic "
        "auth, an admin and a least-privilege user; false = plain HTTP, no users",
    )
    opensearch_index_patterns: list[str] = Field(
        default=["/[^.].*/"],
        description="indices the stack's least-privilege OpenSearch user may use (/regex/ or wildcards); the "
        "default: all but hidden and system ones (a leading dot)",
    )
    kafka_heap_mb: int = Field(default=512, ge=128, description="Kafka JVM heap")
    opensearch_heap_mb: int = Field(default=512, ge=256, description="OpenSearch JVM heap")
    start_timeout_secs: float = Field(default=120.0, gt=0, description="wait this long for each to answer")


class MetricsSettings(_Section):
    """The service endpoints: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``."""

    port: int | None = Field(
        default=None, ge=1, le=65535, description="port of /metrics, /healthz and /readyz; unset = off"
    )
    host: str = Field(
        default="0.0.0.0", description="address the endpoints listen on (127.0.0.1: this machine only)"
    )


#: Hosts that only this machine can reach: the page may bind to them without a token.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class WebSettings(_Section):
    """The upload and search page (``spoolbridge web``, also served by ``spoolbridge run``)."""

    host: str = Field(
        default="127.0.0.1", description="address to bind; any but 127.0.0.1/::1/localhost needs auth_token"
    )
    port: int = Field(default=8080, ge=0, le=65535, description="port to bind (0 = any free port)")
    auth_token: SecretStr | None = Field(
        default=None,
        description="required for any non-loopback host: send as `Authorization: Bearer` or as the "
        "password of basic auth (any user name)",
    )
    max_upload_bytes: int = Field(
        default=10 * 1024**3, ge=1, description="largest file the page accepts (bytes)"
    )
    upload_expiry_hours: float = Field(
        default=24.0, gt=0, description="an unfinished upload untouched this long is deleted (its bytes too)"
    )

    header_timeout_secs: float = Field(
        default=10.0,
        gt=0,
        description="a connection whose request headers are not complete this long after it opened (or "
        "after its last answer) is closed",
    )
    body_timeout_secs: float = Field(
        default=30.0, gt=0, description="a request body that sends no byte for this long is cut off"
    )
    dashboards_url: str | None = Field(
        default=None,
        description="OpenSearch Dashboards' address (Aiven shows one per service): each dataset links to "
        "Discover on its index",
    )
    max_connections: int = Field(
        default=768,
        ge=8,
        description="open connections at most; a new one closes the oldest idle or half-open one (kept "
        "256 below the open-file limit)",
    )

    @property
    def is_loopback(self) -> bool:
        """True when only this machine can reach the page: 127.0.0.0/8, ::1 or ``localhost``, as an
        address, never a name that merely starts like one (``127.evil.example``)."""
        if self.host in LOOPBACK_HOSTS:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def url(self) -> str:
        """The page's address as people type it (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


class DatasetSettings(_Section):
    """``[datasets.<name>]``: what differs for one dataset (a folder under the inbox); unset = global."""

    index: str | None = Field(default=None, description="target index; unset = the dataset's name")
    id_field: str | None = Field(default=None, description="unset = producer.id_field")
    records_path: str | None = Field(default=None, description="unset = producer.records_path")
    source_field: str | None = Field(default=None, description="unset = producer.source_field")
    csv_delimiter: str | None = Field(
        default=None, min_length=1, max_length=1, description="unset = producer.csv_delimiter"
    )
    csv_quotechar: str | None = Field(
        default=None, min_length=1, max_length=1, description="unset = producer.csv_quotechar"
    )
    csv_types: Literal["infer", "text"] | None = Field(default=None, description="unset = producer.csv_types")
    index_body_file: Path | None = Field(default=None, description="unset = opensearch.index_body_file")


class Settings(BaseSettings):
    """All settings. Build with :func:`load_settings`, which turns validation errors into ConfigError."""

    model_config = SettingsConfigDict(
        env_prefix="SPOOLBRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    opensearch: OpenSearchSettings = OpenSearchSettings()
    producer: ProducerSettings = ProducerSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    stack: StackSettings = Field(default_factory=StackSettings)  # its dir follows $HOME at load time
    metrics: MetricsSettings = MetricsSettings()
    web: WebSettings = WebSettings()
    datasets: dict[str, DatasetSettings] = Field(
        default_factory=dict, description="per-dataset settings, [datasets.<folder name>]"
    )

    @field_validator("datasets")
    @classmethod
    def _dataset_names(cls, value: dict[str, DatasetSettings]) -> dict[str, DatasetSettings]:
        for name in value:
            problem = dataset_name_problem(name)
            if problem is not None:
                raise ValueError(f"[datasets.{name}]: {problem}; use [datasets.{suggest_dataset_name(name)}]")
        return value

    @property
    def index_name(self) -> str:
        """``opensearch.index``, else the topic name — which must then be a valid index name.

        Raises :class:`ConfigError` naming ``kafka.topic`` when the topic cannot name an index (a topic
        may hold upper case; an index may not), with a name that would work.
        """
        if self.opensearch.index is not None:
            return self.opensearch.index
        topic = self.kafka.topic
        problem = index_name_problem(topic)
        if problem is not None:
            raise ConfigError(
                "kafka.topic",
                f"{topic!r} is also the index name (opensearch.index is unset), and {problem}: set "
                f"opensearch.index (e.g. {suggest_index_name(topic)!r}) or use a topic name that is one",
            )
        return topic

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _config_file.get() or Path(os.environ.get("SPOOLBRIDGE_CONFIG", DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file))


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(
    overrides: dict[str, dict[str, Any]] | None = None, config_file: Path | None = None
) -> Settings:
    """Build the settings; raise :class:`ConfigError` naming the first bad setting (never its value).

    ``overrides`` are the CLI flags, nested by section (``{"kafka": {"topic": "x"}}``); ``None`` values are
    dropped so an absent flag does not hide the environment or the config file.
    """
    if config_file is not None and not config_file.is_file():
        raise ConfigError("--config", f"file not found: {config_file}")
    token = _config_file.set(config_file)
    try:
        return _load(overrides)
    finally:
        _config_file.reset(token)


def _load(overrides: dict[str, dict[str, Any]] | None) -> Settings:
    given: dict[str, Any] = {}
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            kept = {k: v for k, v in values.items() if v is not None}
            if kept:
                given[section] = kept
        elif values is not None:
            given[section] = values
    try:
        base = Settings()
        if not given:
            return base
        merged = base.model_dump()
        for section, values in given.items():
            if isinstance(values, dict):
                merged[section].update(values)
            else:
                merged[section] = values
        return Settings.model_validate(merged)  # SecretStr values from model_dump() validate as they are
    except ValidationError as exc:
        raise ConfigError.from_validation(exc) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigError("config file", str(exc).splitlines()[0]) from None
