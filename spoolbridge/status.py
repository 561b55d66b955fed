"""``spoolbridge status``: per source file, where its records are; and the consumer group's lag.

Each figure comes from where the truth lives:

- read / produced / rejected: the producer's reports (``done/*.manifest.json``, ``failed/*.error.json``);
- indexed: OpenSearch, counting documents by the source field (a terms aggregation);
- dead-lettered: the dead-letter topic, read from the beginning, by the ``spoolbridge-source`` header
  (or the value's source field);
- lag: the group's committed offsets against each partition's end.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from schemas.errors import ServiceUnavailableError
from schemas.message import HEADER_SOURCE
from schemas.settings import Settings

from .kafka_reach import KafkaErrors, client_config, reach_kafka, unreachable

__all__ = ["GroupLag", "SourceStatus", "StatusReport", "collect_status", "print_status"]

log = logging.getLogger(__name__)

_MAX_SOURCES = 10_000


@dataclass
class SourceStatus:
    source: str
    state: str = "unknown"  # done | failed | (only seen downstream: unknown)
    read: int | None = None
    produced: int | None = None
    rejected: int = 0
    indexed: int = 0
    dead_lettered: int = 0
    reason: str | None = None


@dataclass
class GroupLag:
    partition: int
    committed: int | None
    end: int
    lag: int


@dataclass
class StatusReport:
    topic: str
    index: str
    group: str
    sources: list[SourceStatus] = field(default_factory=list)
    lag: list[GroupLag] = field(default_factory=list)
    index_documents: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def total_lag(self) -> int:
        return sum(row.lag for row in self.lag)


def collect_status(settings: Settings) -> StatusReport:
    """The report; raises :class:`ServiceUnavailableError` (one line with the fix) when Kafka or OpenSearch
    cannot be reached, and :class:`~schemas.errors.ConfigError` for a setting that cannot work."""
    from confluent_kafka import KafkaException

    report = StatusReport(
        topic=settings.kafka.topic, index=settings.index_name, group=settings.consumer.group
    )
    sources: dict[str, SourceStatus] = {}

    def row(name: str) -> SourceStatus:
        return sources.setdefault(name, SourceStatus(name))

    reach_kafka(settings.kafka)  # first: an unreachable Kafka is one line, not a minute of timeouts
    _read_ledger(settings, row)
    _count_indexed(settings, row, report)
    errors = KafkaErrors()
    try:
        _count_dead_letters(settings, row, errors)
        report.lag = _group_lag(settings, errors)
    except KafkaException as exc:
        raise unreachable(settings.kafka, errors.text() or exc.args[0].str()) from exc
    report.sources = sorted(sources.values(), key=lambda s: s.source)
    return report


def _read_ledger(settings: Settings, row: Any) -> None:
    producer = settings.producer
    for manifest_path in sorted(producer.done_path.rglob("*.manifest.json")):
        data = _load_json(manifest_path)
        if data is None:
            continue
        status = row(str(data.get("source")))
        status.state = "done"
        status.produced = int(data.get("records", 0))
        status.rejected = int(data.get("rejected", 0))
        status.read = status.produced + status.rejected
    for error_path in sorted(producer.failed_path.rglob("*.error.json")):
        data = _load_json(error_path)
        if data is None:
            continue
        status = row(str(data.get("source")))
        status.state = "failed"
        status.produced = int(data.get("records_produced", 0))
        status.rejected = int(data.get("records_rejected", 0))
        status.read = status.produced + status.rejected
        status.reason = str(data.get("what", ""))


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("unreadable report file=%s error=%s", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _count_indexed(settings: Settings, row: Any, report: StatusReport) -> None:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

    client = OpenSearch(**{**settings.opensearch.client_kwargs(), "max_retries": 0})
    field_name = settings.producer.source_field
    try:
        report.index_documents = int(client.count(index=settings.index_name)["count"])
        for candidate in (f"{field_name}.keyword", field_name):
            try:
                body = {
                    "size": 0,
                    "aggs": {"by_source": {"terms": {"field": candidate, "size": _MAX_SOURCES}}},
                }
                response = client.search(index=settings.index_name, body=body)
            except RequestError:  # text field without keyword sub-field: try the plain field
                continue
            for bucket in response["aggregations"]["by_source"]["buckets"]:
                row(str(bucket["key"])).indexed = int(bucket["doc_count"])
            break
    except NotFoundError:
        report.index_documents = 0
    except TransportError as exc:
        raise _opensearch_unavailable(settings, exc) from exc
    finally:
        client.close()


def _opensearch_unavailable(settings: Settings, exc: Exception) -> ServiceUnavailableError:
    from opensearchpy.exceptions import ConnectionError as OSConnectionError

    url = settings.opensearch.safe_url
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        fix = "check the user name and password in opensearch.url, and the user's rights to read the index"
        return ServiceUnavailableError(f"OpenSearch at {url} refused the request ({status}); {fix}")
    if isinstance(exc, OSConnectionError):
        parts = urlsplit(url)
        tls = " and opensearch.ca_file" if parts.scheme == "https" else ""
        local = (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
        stack_up = ", or start the local stack with `spoolbridge stack up`" if local else ""
        return ServiceUnavailableError(
            f"OpenSearch at {url} cannot be reached; check opensearch.url{tls}{stack_up}"
        )
    return ServiceUnavailableError(
        f"OpenSearch at {url} failed to count the index {settings.index_name} ({status}); see its logs"
    )


def _count_dead_letters(settings: Settings, row: Any, errors: KafkaErrors) -> None:
    """Read the dead-letter topic from its start to its current end (no group: nothing is committed)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    topic = settings.kafka.dead_letter_topic
    consumer = Consumer(
        {
            **client_config(settings.kafka, errors),
            "group.id": "spoolbridge-status",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics.get(topic)
        if partitions is None or partitions.error is not None:
            return
        remaining: set[int] = set()
        assignment = []
        for number in partitions.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)
            if high > low:
                remaining.add(number)
                assignment.append(TopicPartition(topic, number, OFFSET_BEGINNING))
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in assignment}
        consumer.assign(assignment)
        while remaining:
            messages = consumer.consume(num_messages=1000, timeout=5)
            if not messages:
                break
            for message in messages:
                if message.error() is not None:
                    remaining.discard(message.partition() or 0)
                    continue
                row(_source_of(message, settings.producer.source_field)).dead_lettered += 1
                if (message.offset() or 0) + 1 >= ends.get(message.partition() or 0, 0):
                    remaining.discard(message.partition() or 0)
    finally:
        consumer.close()


def _source_of(message: Any, source_field: str) -> str:
    for name, value in message.headers() or []:
        if name == HEADER_SOURCE and value is not None:
            return str(value.decode("utf-8", "replace"))
    try:
        value = orjson.loads(message.value() or b"")
    except orjson.JSONDecodeError:
        return "(unknown)"
    return str(value.get(source_field, "(unknown)")) if isinstance(value, dict) else "(unknown)"


def _group_lag(settings: Settings, errors: KafkaErrors) -> list[GroupLag]:
    from confluent_kafka import Consumer, TopicPartition

    topic = settings.kafka.topic
    consumer = Consumer({**client_config(settings.kafka, errors), "group.id": settings.consumer.group})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        partitions = [TopicPartition(topic, number) for number in sorted(metadata.partitions)]
        committed = consumer.committed(partitions, timeout=10)
        rows = []
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            offset = tp.offset if tp.offset >= 0 else None
            rows.append(GroupLag(tp.partition, offset, high, high - (offset if offset is not None else low)))
        return rows
    finally:
        consumer.close()


def print_status(report: StatusReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"topic {report.topic} → index {report.index}")
    for column in ("source file", "state", "read", "produced", "indexed", "rejected", "dead-lettered"):
        table.add_column(column, justify="left" if column in ("source file", "state") else "right")
    for s in report.sources:
        table.add_row(
            s.source,
            s.state + (f" ({s.reason})" if s.reason else ""),
            _n(s.read),
            _n(s.produced),
            str(s.indexed),
            str(s.rejected),
            str(s.dead_lettered),
        )
    console.print(table)
    console.print(f"documents in {report.index}: {_n(report.index_documents)}")
    lag = ", ".join(f"p{row.partition}={row.lag}" for row in report.lag) or "no partitions"
    console.print(f"consumer group {report.group} lag: {report.total_lag} ({lag})")


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)
