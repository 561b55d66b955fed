"""``spoolbridge check``: try each step a real run needs, and say how to fix the first that fails.

Kafka: settings → reachable (with the TLS/SASL handshake) → topic → dead-letter topic → can produce.
OpenSearch: reachable → credentials accepted → index exists or can be created → can write.

Side effects, both harmless by design: the produce step sends one tombstone (null value) keyed
``__spoolbridge_check__`` to the topic — spoolbridge's consumer turns it into a delete of a document that
does not exist, and the Aiven sink ignores tombstones by default; the write step indexes and deletes a
document with that id. Secrets are never printed: URLs are shown redacted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from schemas.datasets import Dataset, Datasets
from schemas.errors import ConfigError
from schemas.settings import KafkaSettings, Settings

from .check_permissions import CHECK_ID, missing_permissions, refused_actions
from .kafka_reach import TIMEOUT_SECS, KafkaErrors, client_config, cluster_metadata, kafka_fix

__all__ = ["CheckStep", "run_checks"]

log = logging.getLogger(__name__)

_TIMEOUT_SECS = TIMEOUT_SECS


@dataclass(frozen=True)
class CheckStep:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # passed, but something will go wrong later (``WARN``; the exit code stays 0)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def run_checks(settings: Settings) -> list[CheckStep]:
    """All steps, in order; a failed step ends its service's list (later steps would only repeat it)."""
    return _kafka_steps(settings) + _opensearch_steps(settings)


# ---------------------------------------------------------------------------------------------- Kafka


def _kafka_steps(settings: Settings) -> list[CheckStep]:
    from confluent_kafka import KafkaError, KafkaException, Producer
    from confluent_kafka.admin import AdminClient

    kafka = settings.kafka
    errors = KafkaErrors()
    try:
        kafka.check_files()
        conf = client_config(kafka, errors)
    except ConfigError as exc:
        return [CheckStep("Kafka settings", False, str(exc), f"set {exc.setting} correctly")]
    steps = [CheckStep("Kafka settings", True, f"{kafka.security_protocol} to {kafka.bootstrap_servers}")]

    admin = AdminClient(conf)
    try:
        metadata = cluster_metadata(admin, errors)
    except KafkaException as exc:
        detail = errors.text() or str(exc)
        return [*steps, CheckStep("Kafka reachable", False, _short(detail), kafka_fix(kafka, detail))]
    handshake = {"SSL": ", TLS handshake ok", "SASL_SSL": ", TLS + SASL login ok"}.get(
        kafka.security_protocol, ""
    )
    steps.append(CheckStep("Kafka reachable", True, f"{len(metadata.brokers)} broker(s){handshake}"))

    for dataset in _datasets(settings, metadata.topics):
        suffix = "" if dataset.name is None else f" of dataset {dataset.name}"
        for label, topic in (("topic", dataset.topic), ("dead-letter topic", dataset.dead_letter_topic)):
            step = _topic_step(admin, kafka, label + suffix, topic, metadata.topics)
            steps.append(step)
            if not step.ok:
                return steps
        steps.extend(_retention_steps(admin, dataset.topic))

    delivered: list[Any] = []
    producer = Producer({**conf, "enable.idempotence": True, "acks": "all"})
    producer.produce(
        kafka.topic, key=CHECK_ID.encode(), value=None, on_delivery=lambda e, _m: delivered.append(e)
    )
    producer.flush(_TIMEOUT_SECS)
    error = delivered[0] if delivered else "no delivery report within the timeout"
    if error is None:
        steps.append(CheckStep("Kafka produce", True, f"wrote a tombstone to {kafka.topic}"))
    else:
        fix = "check the service user's write permission on the topic (Aiven: ACLs / topic access)"
        if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            fix = f"the user may not write to {kafka.topic}: grant write (Aiven: an ACL with 'write' on it)"
        steps.append(CheckStep("Kafka produce", False, _short(str(error)), fix))
    return steps


def _topic_step(
    admin: Any, kafka: KafkaSettings, label: str, topic: str, existing: dict[str, Any]
) -> CheckStep:
    from schemas.topics import create_topics

    name = f"Kafka {label} {topic}"
    if topic in existing:
        return CheckStep(name, True, f"exists with {len(existing[topic].partitions)} partition(s)")
    outcome = create_topics(admin, kafka, [topic], _TIMEOUT_SECS)[topic]
    if outcome == "exists":
        return CheckStep(name, True, "exists")
    if outcome != "created":
        return CheckStep(
            name,
            False,
            f"missing and could not be created: {_short(str(outcome))}",
            f"create topic {topic} up front (Aiven console: Topics > Add topic; auto-creation is off there), "
            "or allow this user to create topics",
        )
    return CheckStep(name, True, f"created with {kafka.partitions} partition(s)")


#: A dataset topic that keeps records for less than this loses those the consumer has not read in time.
MIN_RETENTION_MS = 24 * 3600 * 1000


def _retention_steps(admin: Any, topic: str) -> list[CheckStep]:
    """A warning when ``topic`` keeps its records for less than a day (nothing when it cannot be asked:
    reading topic configurations may need a permission the services do not)."""
    from confluent_kafka.admin._config import ConfigResource  # not re-exported for type checkers
    from confluent_kafka.admin._resource import ResourceType

    resource = ConfigResource(ResourceType.TOPIC, topic)
    try:
        entries = admin.describe_configs([resource], request_timeout=_TIMEOUT_SECS)[resource].result(
            timeout=_TIMEOUT_SECS
        )
        retention_ms = int(entries["retention.ms"].value)
    except Exception as exc:  # KafkaException, a missing entry: the warning is a courtesy, not a step
        log.debug("retention.ms unknown topic=%s error=%s", topic, exc)
        return []
    if retention_ms < 0 or retention_ms >= MIN_RETENTION_MS:
        return []
    hours = retention_ms / 3_600_000
    return [
        CheckStep(
            f"Kafka topic {topic} retention",
            True,
            f"retention.ms = {retention_ms} ({hours:.3g} h): records the consumer has not indexed within "
            "that are deleted by Kafka and lost",
            f"raise retention.ms of {topic} to at least {MIN_RETENTION_MS} (a day), e.g. Aiven console: "
            "Topics > the topic > Modify; or kafka-configs --alter --add-config retention.ms=…",
            warning=True,
        )
    ]


# ----------------------------------------------------------------------------------------- OpenSearch


def _opensearch_steps(settings: Settings) -> list[CheckStep]:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import SSLError, TransportError

    opensearch = settings.opensearch
    url = opensearch.safe_url
    try:
        kwargs = opensearch.client_kwargs()
    except ConfigError as exc:
        return [CheckStep("OpenSearch settings", False, str(exc), f"set {exc.setting}")]
    client = OpenSearch(**{**kwargs, "timeout": _TIMEOUT_SECS, "max_retries": 0})
    steps: list[CheckStep] = []
    try:
        info = client.info()
    except SSLError as exc:
        fix = "the node's TLS certificate is not trusted: set opensearch.ca_file to the service's CA file"
        return [CheckStep("OpenSearch reachable", False, f"{url}: {_short(str(exc.info or exc))}", fix)]
    except OSConnectionError as exc:
        fix = f"nothing answers at {url}: check the host and port in opensearch.url and that the service runs"
        return [CheckStep("OpenSearch reachable", False, f"{url}: {_short(str(exc.info or exc))}", fix)]
    except TransportError as exc:
        steps.append(CheckStep("OpenSearch reachable", True, url))
        if exc.status_code == 401:
            fix = (
                "the user name or password in opensearch.url is wrong (Aiven: the service URI's credentials)"
            )
            return [*steps, CheckStep("OpenSearch credentials", False, "401 Unauthorized", fix)]
        if exc.status_code == 403:
            fix = "the user lacks permission: grant it cluster monitor and index write rights"
            return [*steps, CheckStep("OpenSearch credentials", False, "403 Forbidden", fix)]
        return [*steps, CheckStep("OpenSearch credentials", False, _short(str(exc)), "see the node's logs")]
    version = info.get("version", {}).get("number", "?")
    steps.append(CheckStep("OpenSearch reachable", True, f"{url} (version {version})"))
    if (warning := opensearch.unverified_tls) is not None:
        detail, fix = warning.split("; ", 1)
        steps.append(CheckStep("OpenSearch certificate", True, detail, fix, warning=True))
    steps.append(
        CheckStep("OpenSearch credentials", True, "accepted" if "http_auth" in kwargs else "none needed")
    )
    try:
        settings.index_name  # noqa: B018 - raises ConfigError for a default index name that cannot work
    except ConfigError as exc:
        return [*steps, CheckStep("OpenSearch index", False, exc.problem, _index_fix(exc))]
    topics = _topic_names(settings)
    for dataset in _datasets(settings, topics):  # each dataset on its own: one bad body hides no other
        steps.extend(_index_steps(client, settings, dataset))
    return steps


def _datasets(settings: Settings, topics: Any) -> list[Dataset]:
    """The default dataset, then every configured one and every one with a topic in the cluster."""
    datasets = Datasets(settings)
    names = set(settings.datasets)
    names |= {
        d.name for topic in topics if (d := datasets.of_topic(topic)) is not None and d.name is not None
    }
    return [datasets.get(None), *(datasets.get(name) for name in sorted(names))]


def _topic_names(settings: Settings) -> Any:
    """The cluster's topic names (empty when Kafka cannot say: the Kafka steps report why)."""
    from confluent_kafka.admin import AdminClient

    try:
        admin = AdminClient(client_config(settings.kafka, KafkaErrors()))
        return cluster_metadata(admin, KafkaErrors()).topics
    except Exception:  # KafkaException or a bad setting: the Kafka steps have said it already
        return {}


def _index_steps(client: Any, settings: Settings, dataset: Dataset) -> list[CheckStep]:
    from opensearchpy.exceptions import TransportError

    from consumer.index import ensure_index

    index = dataset.index
    opensearch = settings.opensearch.model_copy(update={"index_body_file": dataset.index_body_file})
    label = f"OpenSearch index {index}" + ("" if dataset.name is None else f" (dataset {dataset.name})")
    try:
        created = ensure_index(client, index, opensearch)
    except ConfigError as exc:
        own = dataset.name is not None and dataset.name in settings.datasets
        if own and settings.datasets[dataset.name].index_body_file is not None:  # type: ignore[index]
            exc = ConfigError(f"datasets.{dataset.name}.index_body_file", exc.problem)
        return [CheckStep(label, False, _short(str(exc)), _index_fix(exc))]
    except TransportError as exc:
        # ensure_index asks whether the index exists (HEAD: a 403 without a body), then creates it
        return [CheckStep(label, False, _index_detail(exc, index, "indices:admin/get"), _index_fix(exc))]
    steps = [CheckStep(label, True, "created" if created else "exists")]
    try:
        missing = missing_permissions(client, index)
    except TransportError as exc:
        return [*steps, CheckStep(f"OpenSearch write {index}", False, _short(str(exc)), _index_fix(exc))]
    if not missing:
        detail = "indexed, counted, searched and deleted a check document; read the mapping"
        return [*steps, CheckStep(f"OpenSearch write {index}", True, detail)]
    fix = "grant it to the user's role for this index (Aiven: the service user's access to the index)"
    return [*steps, *(CheckStep(f"OpenSearch permission {m.action}", False, m.line(), fix) for m in missing)]


def _index_detail(exc: Exception, index: str, permission: str) -> str:
    """One line; for a 403 it names the index and the permission refused (the security plugin says which in
    its body; a HEAD answer has none, so ``permission`` — what that request needs — is named instead)."""
    if getattr(exc, "status_code", None) != 403:
        return _short(str(exc))
    info = exc.args[2] if len(exc.args) > 2 else ""  # opensearch-py's ``info`` (absent: IndexError)
    refused = refused_actions(str(info))
    return f"403 Forbidden: the user lacks {', '.join(refused) or permission} on index {index}"


def _index_fix(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return f"set {exc.setting} correctly"
    status = getattr(exc, "status_code", None)
    if status == 403:
        return "the user may not create or write this index: grant index write rights (Aiven: ACLs)"
    return "see the error above and the node's logs"


def _short(text: str, limit: int = 240) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
