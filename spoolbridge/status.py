"""``spoolbridge status``: per dataset and per source file, where the records are; and the group's lag.

Each figure comes from where the truth lives:

- read / produced / rejected, versions: the producer's reports (``done/*.manifest.json``,
  ``failed/*.error.json``) and its version history; files still waiting in the inbox, and the one being
  read with its records so far (the producer's note, :mod:`producer.reading_note`);
- indexed: each dataset's index, counting documents by the source field (a terms aggregation), and the
  index's document count;
- dead-lettered: each dataset's dead-letter topic, read from the beginning, by the ``spoolbridge-source``
  header: the outstanding letters, apart from those a replay settled (:mod:`schemas.letter_ledger`);
- lag: the group's committed offsets against the end of each partition of each dataset's topic;
- expired: the group's commit metadata (count and offsets, :mod:`consumer.expiry`) and the log start,
  placed on files by the offsets their reports record (:mod:`schemas.offset_ranges`); read with lag by
  :mod:`.topic_expiry`, which the page reads them with too.

Every file's verdict is its :class:`~schemas.file_account.FileAccount`, the ledger the page shares.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from producer.inbox.ledger import read_report
from producer.inbox.readiness import is_input_path, relative_source
from producer.inbox.reading_note import read_note
from producer.inbox.removals import RemovalRequests
from producer.inbox.versions import VersionHistory
from schemas.datasets import Dataset, DatasetNameError, Datasets
from schemas.errors import ServiceUnavailableError
from schemas.file_account import SETTLED_STATES, FileAccount
from schemas.file_account import dataset_balances as accounts_balance
from schemas.letter_ledger import OutstandingLetters
from schemas.offset_ranges import OffsetRange, overlaps
from schemas.settings import Settings

from .kafka_reach import TIMEOUT_SECS, KafkaErrors, client_config, reach_kafka, unreachable
from .topic_expiry import PartitionLag, expired_offsets, expired_within, may_be_hit, read_group_lag

__all__ = [
    "WAIT_TIMED_OUT",
    "DatasetStatus",
    "PartitionLag",
    "SourceStatus",
    "StatusReport",
    "balances",
    "collect_status",
    "dataset_balances",
]

log = logging.getLogger(__name__)

_MAX_SOURCES = 10_000

#: ``status --wait`` exit code when the ledger did not balance in time (1 and 2 mean errors).
WAIT_TIMED_OUT = 3


@dataclass
class SourceStatus:
    source: str
    dataset: str
    # waiting | reading | done | failed | removing (asked for) | removed | (only seen downstream: unknown)
    state: str = "unknown"
    read: int | None = None
    produced: int | None = None
    rejected: int = 0
    indexed: int = 0
    dead_lettered: int = 0  # outstanding: the document's latest dead-letter event is a letter
    replayed: int = 0  # dead letters a replay settled (history; no longer outstanding)
    superseded: int = 0  # produced, then overwritten by a later record of the same file (same id)
    bytes: int | None = None
    version: int | None = None
    replaced: str | None = None  # "3 → 1": records of the previous version → of this one
    removed: int | None = None  # removed on request: how many documents that deleted
    reason: str | None = None
    # per partition, the first and last offset of the version's messages (its report's); None: unknown
    offsets: dict[int, OffsetRange] | None = None

    def account(self, *, hit_by_expiry: bool = False) -> FileAccount:
        """The file's ledger (:class:`~schemas.file_account.FileAccount`): ``status`` counts every term
        it shows, so none is unknown here (a service that cannot be reached fails the whole report)."""
        return FileAccount(
            self.state, self.produced, self.rejected, self.superseded, self.indexed, self.dead_lettered,
            hit_by_expiry=hit_by_expiry,
        )  # fmt: skip


@dataclass
class DatasetStatus:
    dataset: str
    topic: str | None
    index: str | None
    dead_letter_topic: str | None
    problem: str | None = None  # a folder that cannot name a dataset
    index_documents: int | None = None
    partitions: list[PartitionLag] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)
    retention_ms: int | None = None  # asked only when records expired (None: unknown)

    @property
    def expired_files(self) -> list[str]:
        """The files whose latest version's records expired from Kafka: those whose offsets (their
        reports') overlap the expired offsets (:mod:`schemas.offset_ranges`)."""
        expired = expired_offsets(self.partitions)
        return [r.source for r in self.sources if r.offsets is not None and overlaps(r.offsets, expired)]

    @property
    def expired_files_unknown(self) -> list[str]:
        """Files short of documents that records expired from but whose reports hold no offsets (written
        before offsets were recorded): whether the expiry hit them cannot be known."""
        if not self.totals["expired"]:
            return []
        rows = [r for r in self.sources if r.offsets is None and r.state in SETTLED_STATES]
        return [r.source for r in rows if not balances(r)]

    def hit_by_expiry(self, row: SourceStatus) -> bool:
        """Whether records of ``row``'s latest version may be among the expired ones
        (:func:`~.topic_expiry.may_be_hit`, which the page asks too)."""
        return may_be_hit(row.offsets, self.partitions)

    def may_have_expired(self, row: SourceStatus) -> int:
        """How many of the expired records may be ``row``'s latest version's
        (:func:`~.topic_expiry.expired_within`, which the page asks too)."""
        return expired_within(row.offsets, self.partitions)

    def accounts(self) -> list[FileAccount]:
        """Every file's ledger, with whether the records that expired may be its own."""
        return [row.account(hit_by_expiry=self.hit_by_expiry(row)) for row in self.sources]

    @property
    def totals(self) -> dict[str, int]:
        rows = self.sources
        return {
            "files": len(rows),
            "read": sum(r.read or 0 for r in rows),
            "produced": sum(r.produced or 0 for r in rows),
            "indexed": sum(r.indexed for r in rows),
            "rejected": sum(r.rejected for r in rows),
            "superseded": sum(r.superseded for r in rows),
            "dead_lettered": sum(r.dead_lettered for r in rows),
            "replayed": sum(r.replayed for r in rows),
            "lag": sum(p.lag for p in self.partitions),
            "expired": sum(p.expired for p in self.partitions),
        }

    def as_dict(self) -> dict[str, Any]:
        sources = [
            {**asdict(row), **_account_figures(account, self.may_have_expired(row))}
            for row, account in zip(self.sources, self.accounts(), strict=True)
        ]
        return {
            **asdict(self), "sources": sources, **self.totals,
            "expired_files": self.expired_files, "expired_files_unknown": self.expired_files_unknown,
        }  # fmt: skip


def _account_figures(account: FileAccount, may_have_expired: int) -> dict[str, Any]:
    """What ``status --json`` shows of a file's ledger beside its terms (the page's card shows the same,
    :meth:`spoolbridge.web.progress.FileProgress.as_dict`); ``may_have_expired``: how many of the expired
    records may be the file's."""
    return {
        "documents_expected": account.documents_expected,
        "shortfall": account.shortfall,
        "surplus": account.surplus,
        "balances": account.balances,
        "unknown": account.unknown,
        "hit_by_expiry": account.hit_by_expiry,
        "expired": account.expired_given(may_have_expired),  # of its shortfall, what expired records explain
        "may_have_expired": may_have_expired,
        "settled": account.settled_given(may_have_expired),
    }


@dataclass
class StatusReport:
    group: str
    datasets: list[DatasetStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        datasets = [d.as_dict() for d in self.datasets]
        return {"group": self.group, "settled": self.settled, "datasets": datasets}

    @property
    def total_lag(self) -> int:
        return sum(d.totals["lag"] for d in self.datasets)

    @property
    def settled(self) -> bool:
        """Nothing is waiting or being read, every produced record is searchable or dead-lettered (but
        those a later record of the same file overwrote), and the consumer group has read everything."""
        datasets = [d for d in self.datasets if d.problem is None]
        return (
            any(d.sources for d in datasets)
            and all(dataset_balances(d) for d in datasets)
            and self.total_lag == 0
        )


def dataset_balances(d: DatasetStatus) -> bool:
    """Every file balances, except for records that expired from Kafka: those are accounted for (as
    lost, and said so) and cover the shortfall of the files they came from, up to their number
    (:func:`schemas.file_account.dataset_balances`, the one definition, which the page shares)."""
    return accounts_balance(d.accounts(), d.totals["expired"])


def balances(row: SourceStatus) -> bool:
    """The file's ledger balances (:attr:`schemas.file_account.FileAccount.balances`)."""
    return row.account().balances


def collect_status(
    settings: Settings, only: str | None = None, connect_dead_letters: str | None = None
) -> StatusReport:
    """The report (``only``: one dataset, by label; ``connect_dead_letters``: Kafka Connect's dead-letter
    topic, whose letters count as each dataset's too); raises :class:`ServiceUnavailableError` (one line with
    the fix) when Kafka or OpenSearch cannot be reached."""
    from confluent_kafka import KafkaException

    settings.index_name  # noqa: B018 - a default index name that cannot work is a setting error, first
    reach_kafka(settings.kafka)  # then: an unreachable Kafka is one line, not a minute of timeouts
    _reach_opensearch(settings)  # and OpenSearch, even when no dataset has anything to count yet
    datasets = Datasets(settings)
    rows = _SourceRows(settings, datasets)
    rows.read_inbox()
    errors = KafkaErrors()
    report = StatusReport(group=settings.consumer.group)
    try:
        names = rows.dataset_labels() | _dataset_topics(settings, datasets, errors)
        for label in sorted(names, key=lambda n: (n != "(default)", n)):
            if only is not None and label != only:
                continue
            status = _dataset_status(
                settings, datasets, label, rows, errors, connect_dead_letters=connect_dead_letters
            )
            report.datasets.append(status)
    except KafkaException as exc:
        raise unreachable(settings.kafka, errors.text() or exc.args[0].str()) from exc
    return report


class _SourceRows:
    """Per-file rows, keyed by source, from the inbox, its reports, the versions and the producer's note."""

    def __init__(self, settings: Settings, datasets: Datasets) -> None:
        self.settings = settings
        self.rows: dict[str, SourceStatus] = {}
        self.refused: dict[str, str] = {}  # dataset label → problem

    def row(self, source: str) -> SourceStatus:
        found = self.rows.get(source)
        if found is None:
            found = self.rows[source] = SourceStatus(source, self._label(source))
        return found

    def _label(self, source: str) -> str:
        try:
            name = Datasets.name_of_source(source)
        except DatasetNameError as exc:
            self.refused[exc.folder] = exc.problem
            return exc.folder
        return name if name is not None else "(default)"

    def dataset_labels(self) -> set[str]:
        return {row.dataset for row in self.rows.values()}

    def read_inbox(self) -> None:
        producer = self.settings.producer
        inbox = producer.inbox.absolute()
        history = VersionHistory(inbox)
        reports = [
            *sorted(producer.done_path.rglob("*.manifest.json")),
            *sorted(producer.failed_path.rglob("*.error.json")),
        ]
        for path in reports:
            report = read_report(path)
            if report is None:
                log.warning("unreadable report file=%s", path)
                continue
            status = self.row(report.source)
            status.state, status.produced, status.rejected = report.state, report.produced, report.rejected
            status.superseded, status.offsets = report.superseded, report.offsets
            if report.state == "done":
                status.bytes = report.bytes
            else:
                status.reason = report.reason
        removals = RemovalRequests(inbox)
        for status in self.rows.values():
            versions = history.versions(status.source)
            if versions:
                status.version = versions[-1].number
                if versions[-1].outcome == "removed":
                    _removed(status, versions[-1].deleted)
                elif len(versions) > 1 and versions[-2].outcome != "removed":  # nothing left to replace
                    status.replaced = f"{versions[-2].records} → {versions[-1].records}"
            status.read = (status.produced or 0) + status.rejected
            if removals.is_pending(status.source):
                status.state = "removing"
        self._waiting(inbox)

    def _waiting(self, inbox: Path) -> None:
        producer = self.settings.producer
        excluded = (producer.done_path.absolute(), producer.failed_path.absolute())
        if inbox.is_dir():
            for path in sorted(inbox.rglob("*")):
                if is_input_path(path, inbox, excluded) and path.is_file():
                    status = self.row(relative_source(path, inbox))
                    status.state, status.bytes = "waiting", path.stat().st_size
                    status.read = status.produced = None
        note = read_note(inbox)
        if note is not None and isinstance(note.get("source"), str):
            status = self.row(note["source"])
            status.state, status.bytes = "reading", note.get("bytes")
            status.read = int(note.get("records", 0))


def _removed(status: SourceStatus, deleted: int) -> None:
    """A file removed on request makes no documents any more: none is expected in the index."""
    status.state, status.removed, status.reason = "removed", deleted, None
    status.produced, status.rejected, status.superseded, status.offsets = 0, 0, 0, None
    status.bytes = None


def _dataset_topics(settings: Settings, datasets: Datasets, errors: KafkaErrors) -> set[str]:
    """Labels of the datasets that have a topic in the cluster, and of the configured ones."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(client_config(settings.kafka, errors))
    labels = {
        dataset.label for name in admin.list_topics(timeout=10).topics if (dataset := datasets.of_topic(name))
    }
    return labels | set(settings.datasets)


def _dataset_status(
    settings: Settings,
    datasets: Datasets,
    label: str,
    rows: _SourceRows,
    errors: KafkaErrors,
    *,
    connect_dead_letters: str | None = None,
) -> DatasetStatus:
    sources = sorted((r for r in rows.rows.values() if r.dataset == label), key=lambda r: r.source)
    if label in rows.refused:
        return DatasetStatus(label, None, None, None, problem=rows.refused[label], sources=sources)
    dataset = datasets.get(None if label == "(default)" else label)
    status = DatasetStatus(label, dataset.topic, dataset.index, dataset.dead_letter_topic, sources=sources)

    def row(source: str) -> SourceStatus:
        found = rows.row(source)
        if found not in status.sources:
            status.sources.append(found)
        return found

    _count_indexed(settings, dataset, status, row)
    _count_dead_letters(settings, dataset, row)
    if connect_dead_letters is not None:
        _count_connect_letters(settings, connect_dead_letters, dataset, row)
    status.partitions = _group_lag(settings, dataset.topic, errors)
    if status.totals["expired"]:
        status.retention_ms = _retention_ms(settings, dataset.topic, errors)
    status.sources.sort(key=lambda r: r.source)
    return status


def _count_indexed(settings: Settings, dataset: Dataset, status: DatasetStatus, row: Any) -> None:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

    client = OpenSearch(**{**settings.opensearch.client_kwargs(), "max_retries": 0})
    field_name = dataset.producer.source_field
    try:
        status.index_documents = int(client.count(index=dataset.index)["count"])
        for candidate in (f"{field_name}.keyword", field_name):
            body = {"size": 0, "aggs": {"by_source": {"terms": {"field": candidate, "size": _MAX_SOURCES}}}}
            try:
                response = client.search(index=dataset.index, body=body)
            except RequestError:  # text field without keyword sub-field: try the plain field
                continue
            buckets = response["aggregations"]["by_source"]["buckets"]
            for bucket in buckets:
                row(str(bucket["key"])).indexed = int(bucket["doc_count"])
            if buckets:  # a keyword field has no ".keyword": its aggregation is empty, not an error
                break
    except NotFoundError:
        status.index_documents = 0
    except TransportError as exc:
        raise _opensearch_unavailable(settings, dataset.index, exc) from exc
    finally:
        client.close()


def _reach_opensearch(settings: Settings) -> None:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import TransportError

    client = OpenSearch(**{**settings.opensearch.client_kwargs(), "max_retries": 0})
    try:
        client.info()
    except TransportError as exc:
        raise _opensearch_unavailable(settings, settings.index_name, exc) from exc
    finally:
        client.close()


def _opensearch_unavailable(settings: Settings, index: str, exc: Exception) -> ServiceUnavailableError:
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
        f"OpenSearch at {url} failed to count the index {index} ({status}); see its logs"
    )


def _count_dead_letters(settings: Settings, dataset: Dataset, row: Any) -> None:
    """Read the dataset's dead-letter topic from its start to its current end (nothing is committed):
    dead-lettered = outstanding letters, replayed = letters a replay settled, measured against the
    inbox's version history (:mod:`schemas.letter_ledger`; superseded letters are neither)."""
    from .dead_letters import LetterReader, latest_versions, topic_exists

    if not topic_exists(settings, dataset.dead_letter_topic):
        return
    ledger = OutstandingLetters(latest_versions(settings))
    reader = LetterReader(settings, dataset.dead_letter_topic, marks=True)
    try:
        for letter in reader:
            ledger.add(letter.key, letter.value, letter.headers, letter.offset)
    finally:
        reader.close()
    for source in ledger.history:
        found = row(source)
        found.dead_lettered, found.replayed = ledger.outstanding[source], ledger.replayed[source]


def _count_connect_letters(settings: Settings, topic: str, dataset: Dataset, row: Any) -> None:
    """Add the dataset's letters in Kafka Connect's dead-letter topic (counted by source file)."""
    from .connect_dead_letters import count_connect_letters

    ledger = count_connect_letters(settings, topic, dataset.topic)
    for source in ledger.history:
        found = row(source)
        found.dead_lettered += ledger.outstanding[source]
        found.replayed += ledger.replayed[source]


def _group_lag(settings: Settings, topic: str, errors: KafkaErrors) -> list[PartitionLag]:
    config = client_config(settings.kafka, errors)
    return read_group_lag(config, settings.consumer.group, topic, TIMEOUT_SECS)


def _retention_ms(settings: Settings, topic: str, errors: KafkaErrors) -> int | None:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.admin._config import ConfigResource  # not re-exported for type checkers
    from confluent_kafka.admin._resource import ResourceType

    resource = ConfigResource(ResourceType.TOPIC, topic)
    try:
        admin = AdminClient(client_config(settings.kafka, errors))
        entries = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=10)
        return int(entries["retention.ms"].value)
    except Exception as exc:  # a permission the user may lack: the figure says "unknown" instead
        log.debug("retention.ms unknown topic=%s error=%s", topic, exc)
        return None
