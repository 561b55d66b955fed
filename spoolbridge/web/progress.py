"""Where one uploaded file's records are, from the pipeline's own records of it — the figures
``spoolbridge status`` reports, for one file:

- state and read / produced / rejected: the file still in the inbox (``waiting``), the producer's note of
  the file it is reading (``reading``, records so far), else its report (``done/<source>.manifest.json``
  or ``failed/<source>.error.json``, with the reason and what to do);
- indexed: OpenSearch's count of the dataset's documents whose source field is the file;
- dead-lettered: the dataset's dead-letter topic, by source (:class:`~.dead_letters.DeadLetterTail`);
- expired: what ``status`` reads, the group's committed offsets (their metadata) and the log start of the
  dataset's topic (:mod:`spoolbridge.topic_expiry`), placed on the file by the offsets its report records;
  asked only of a file the producer settled that is short of documents, and at most once per
  :data:`EXPIRY_MAX_AGE_SECS` per topic however many cards poll.

:meth:`Progress.of_file` is the one function the page's live view calls; it answers only for a dataset
the catalog knows (:meth:`~.catalog.Catalog.knows`), so no GET can make it open a reader for a name.
The dead-letter readers are shared (one per dead-letter topic, whatever the number of streams) and
bounded: at most :data:`MAX_DEAD_LETTER_READERS`, the least recently asked one closed to make room.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from producer.inbox.ledger import read_report
from producer.inbox.reading_note import read_note
from producer.inbox.removals import RemovalRequests
from producer.inbox.versions import VersionHistory
from schemas.errors import ConfigError
from schemas.file_account import FileAccount
from schemas.letter_ledger import LatestVersion
from schemas.names import dataset_name_problem
from schemas.offset_ranges import OffsetRange
from schemas.reject_reasons import reject_group
from schemas.settings import Settings

from ..letter_versions import LatestVersions
from ..topic_expiry import PartitionLag, expired_within, read_group_lag
from .catalog import NOT_CONCRETE, Catalog
from .dead_letters import DeadLetterTail
from .result_words import result_of

__all__ = [
    "EXPIRY_MAX_AGE_SECS",
    "MAX_DEAD_LETTER_READERS",
    "FileProgress",
    "GroupLagCache",
    "Progress",
    "source_problem",
]

log = logging.getLogger(__name__)

#: Kafka consumers (each a few threads and sockets) the page keeps for dead-letter counts at most
MAX_DEAD_LETTER_READERS = 8
#: How old the page's reading of a topic's group offsets may be (every card of the topic shares it)
EXPIRY_MAX_AGE_SECS = 2.0
_KAFKA_TIMEOUT_SECS = 5.0
_MAX_TOPICS_CACHED = 64
_MAX_SOURCE_BYTES = 1024
_MAX_PART_BYTES = 255  # a file system's longest name


def source_problem(source: str) -> str | None:
    """Why ``source`` is not ``<dataset>/<file>`` inside the inbox, or None."""
    if (
        len(source.encode("utf-8", "surrogatepass")) > _MAX_SOURCE_BYTES
        or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in source)
        or any(len(p.encode("utf-8", "surrogatepass")) > _MAX_PART_BYTES for p in source.split("/"))
    ):
        return "a source is <dataset>/<file name>, as the upload answered"
    parts = PurePosixPath(source).parts
    if (
        len(parts) < 2
        or source.startswith("/")
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
    ):
        return "a source is <dataset>/<file name>, as the upload answered"
    return dataset_name_problem(parts[0])


@dataclass
class FileProgress:
    """One file's numbers; ``None`` where the figure is not known yet (or cannot be had)."""

    source: str
    state: str = "unknown"  # waiting | reading | done | failed | removing | removed | unknown
    read: int | None = None
    produced: int | None = None
    rejected: int = 0
    superseded: int = 0  # produced, then overwritten by a later record of the same file (same id)
    indexed: int | None = None
    dead_lettered: int | None = None
    reason: str | None = None
    what_to_do: str | None = None
    has_rejected_file: bool = False
    problem: str | None = None  # why a figure is missing (OpenSearch or Kafka unreachable, unset)
    # per partition, the first and last offset of the version's messages (its report's); None: unknown
    offsets: dict[int, OffsetRange] | None = field(default=None, repr=False)
    # of the records that expired from the dataset's topic before they were indexed, how many may be this
    # version's (:func:`~spoolbridge.topic_expiry.expired_within`, as status counts them)
    may_have_expired: int = 0
    # whether the group committed past every offset of this version (None: unknown, e.g. no offsets in
    # an older report, or a group that commits nothing here, such as Kafka Connect's)
    committed_past: bool | None = None
    # the causes of the outstanding dead letters: (what, to do, count), most first
    letter_causes: list[tuple[str, str, int]] = field(default_factory=list, repr=False)
    # the causes of the rejected records (what, to do, count), from the error report; None: unknown (a
    # report from before they were counted by cause)
    reject_causes: list[tuple[str, str, int]] | None = field(default=None, repr=False)
    file_error: bool | None = field(default=None, repr=False)  # failed: not read to its end (None: unknown)
    removed: int | None = None  # removed on request: how many documents that deleted (its history's)

    @property
    def account(self) -> FileAccount:
        """The file's ledger, the one ``status`` keeps (:class:`~schemas.file_account.FileAccount`)."""
        return FileAccount(
            self.state, self.produced, self.rejected, self.superseded, self.indexed, self.dead_lettered,
            unknown_because=self.problem, hit_by_expiry=self.may_have_expired > 0,
        )  # fmt: skip

    @property
    def settled(self) -> bool:
        """The file's ledger balances, or its shortfall is records that expired from Kafka
        (:meth:`~schemas.file_account.FileAccount.settled_given`, as ``status --json`` says per file), and
        the consumer group committed past this version's last message on every partition: a new version
        of a file whose ids were indexed before balances by count at once, while its own records are
        still on their way (the previous version's figures must not show as the new one's)."""
        return self.account.settled_given(self.may_have_expired) and self.committed_past is not False

    def as_dict(self) -> dict[str, Any]:
        account = self.account
        figures = asdict(self)
        del figures["offsets"]  # the report's, downloadable; the card shows what they mean
        del figures["letter_causes"], figures["reject_causes"]  # in the result
        return {
            **figures, "settled": self.settled, "balances": account.balances,
            "documents_expected": account.documents_expected, "shortfall": account.shortfall,
            "surplus": account.surplus, "unknown": account.unknown, "hit_by_expiry": account.hit_by_expiry,
            "expired": account.expired_given(self.may_have_expired), "result": self.result(),
        }  # fmt: skip

    def result(self) -> dict[str, Any] | None:
        """The result in words once the file is settled (:mod:`.result_words`); None before."""
        if not self.settled:
            return None
        return result_of(
            state=self.state, indexed=self.indexed or 0, dead_lettered=self.dead_lettered or 0,
            rejected=self.rejected, expired=self.account.expired_given(self.may_have_expired),
            superseded=self.superseded, reason=self.reason, what_to_do=self.what_to_do,
            letter_causes=self.letter_causes, reject_causes=self.reject_causes, file_error=self.file_error,
            removed=self.removed,
        ).as_dict()  # fmt: skip


class GroupLagCache:
    """Each topic's :class:`~spoolbridge.topic_expiry.PartitionLag` list, read by ``read(topic)`` at most
    once per ``max_age_secs`` (a failure too: it is raised again until then); thread-safe, bounded."""

    def __init__(
        self,
        read: Callable[[str], list[PartitionLag]],
        max_age_secs: float = EXPIRY_MAX_AGE_SECS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age_secs = max_age_secs
        self._clock = clock
        self._known: dict[str, tuple[float, list[PartitionLag] | Exception]] = {}
        self._reading: dict[str, threading.Lock] = {}  # per topic: one read at a time, topics in parallel
        self._lock = threading.Lock()

    def partitions(self, topic: str) -> list[PartitionLag]:
        with self._lock:
            reading = self._reading.setdefault(topic, threading.Lock())
        # cards of one topic polling at the same moment wait for one read instead of each making it
        with reading:
            with self._lock:
                known = self._known.get(topic)
            if known is None or self._clock() - known[0] >= self._max_age_secs:
                try:
                    answer: list[PartitionLag] | Exception = self._read(topic)
                except Exception as exc:  # Kafka not answering: said by the caller, asked again later
                    answer = exc
                known = (self._clock(), answer)
                self._keep(topic, known)
        if isinstance(known[1], Exception):
            raise known[1]
        return known[1]

    def _keep(self, topic: str, known: tuple[float, list[PartitionLag] | Exception]) -> None:
        with self._lock:
            self._known.pop(topic, None)
            self._known[topic] = known  # the newest last: the oldest are dropped first
            while len(self._known) > _MAX_TOPICS_CACHED:
                oldest = next(iter(self._known))
                del self._known[oldest]
                self._reading.pop(oldest, None)


class _NotReadableError(Exception):
    """The dataset's index is not a concrete index (see :mod:`.catalog`)."""


class Progress:
    """Progress look-ups for one configuration (thread-safe; OpenSearch and Kafka calls are blocking)."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self.inbox = settings.producer.inbox.absolute()
        self._versions = LatestVersions(self.inbox)  # what status measures letters against, too
        self._history = VersionHistory(self.inbox)  # whether a file was removed on request
        self._removals = RemovalRequests(self.inbox)
        self._tails: collections.OrderedDict[str, DeadLetterTail] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._group_lag = GroupLagCache(self._read_group_lag)

    def of_file(self, source: str) -> FileProgress:
        """The numbers of ``source`` (a valid ``<dataset>/<file>``, see :func:`source_problem`)."""
        dataset = self.catalog.datasets.get(source.partition("/")[0])
        numbers = FileProgress(source)
        self._ledger(numbers)
        try:
            numbers.indexed = self._indexed(dataset.index, dataset.producer.source_field, source)
            tail = self._tail(dataset.dead_letter_topic, dataset.producer.source_field)
            numbers.dead_lettered = tail.count(source)
            if numbers.dead_lettered:
                numbers.letter_causes = [(g.what, g.to_do, n) for g, n in tail.reasons(source)]
        except (ConfigError, _NotReadableError) as exc:
            numbers.problem = str(exc)
        except Exception as exc:  # OpenSearch unreachable: the other figures still stand
            numbers.problem = (
                f"OpenSearch at {self.settings.opensearch.safe_url} did not answer ({type(exc).__name__})"
            )
        self._expiry(numbers, dataset.topic)
        self._committed(numbers, dataset.topic)
        return numbers

    def _committed(self, numbers: FileProgress, topic: str) -> None:
        """Whether the group committed past every offset of the version (asked once its counts balance)."""
        if numbers.offsets is None or not numbers.account.settled_given(numbers.may_have_expired):
            return
        try:
            partitions = {p.partition: p.committed for p in self._group_lag.partitions(topic)}
        except Exception:  # Kafka not answering: the counts stand, as before offsets were known
            return
        if all(committed is None for committed in partitions.values()):
            return  # this group commits nothing on the topic (another reads it): unknown
        numbers.committed_past = all(
            (partitions.get(partition) or 0) > last for partition, (_, last) in numbers.offsets.items()
        )

    def _expiry(self, numbers: FileProgress, topic: str) -> None:
        """Whether the file's shortfall may be records that expired from Kafka (only a file the producer
        settled, every figure known, nothing too many, something short, can be so)."""
        account = numbers.account
        if not account.settled_by_producer or not account.shortfall or account.surplus != 0:
            return
        try:
            partitions = self._group_lag.partitions(topic)
        except Exception as exc:  # Kafka not answering: the file waits, saying why
            why = type(exc).__name__
            numbers.problem = f"Kafka did not answer ({why}): whether records expired from {topic} is unknown"
            return
        numbers.may_have_expired = expired_within(numbers.offsets, partitions)

    def _read_group_lag(self, topic: str) -> list[PartitionLag]:
        config = self.settings.kafka.client_config()
        return read_group_lag(config, self.settings.consumer.group, topic, _KAFKA_TIMEOUT_SECS)

    def close(self) -> None:
        with self._lock:
            tails, self._tails = list(self._tails.values()), collections.OrderedDict()
        for tail in tails:  # all asked first, so that the page's stop waits for the slowest one only
            tail.stop()
        for tail in tails:
            tail.close()

    def _ledger(self, numbers: FileProgress) -> None:
        self._report(numbers)
        if numbers.state in ("waiting", "reading"):
            return
        versions = self._history.versions(numbers.source)
        if versions and versions[-1].outcome == "removed":  # no document of it is expected any more
            numbers.state, numbers.removed = "removed", versions[-1].deleted
            numbers.read, numbers.produced, numbers.rejected, numbers.superseded = 0, 0, 0, 0
            numbers.reason = numbers.what_to_do = None
            numbers.offsets, numbers.reject_causes, numbers.file_error = None, None, None
            numbers.has_rejected_file = False
        if self._removals.is_pending(numbers.source):
            numbers.state = "removing"

    def _report(self, numbers: FileProgress) -> None:
        producer = self.settings.producer
        source = numbers.source
        if (self.inbox / source).is_file():
            numbers.state = "waiting"
        note = read_note(self.inbox)
        if note is not None and note.get("source") == source:
            numbers.state, numbers.read = "reading", int(note.get("records", 0))
            return
        if numbers.state == "waiting":
            return
        for path in (
            producer.done_path / f"{source}.manifest.json",
            producer.failed_path / f"{source}.error.json",
        ):
            report = read_report(path, source)
            if report is not None:
                numbers.state, numbers.produced, numbers.rejected = (
                    report.state,
                    report.produced,
                    report.rejected,
                )
                numbers.read, numbers.superseded = report.read, report.superseded
                numbers.reason, numbers.what_to_do = report.reason, report.what_to_do
                numbers.has_rejected_file = report.has_rejected_file
                numbers.offsets = report.offsets
                numbers.file_error = report.file_error
                if report.rejected_causes is not None:
                    numbers.reject_causes = [
                        (group.what, group.to_do, count)
                        for reason, count in report.rejected_causes
                        for group in (reject_group(reason),)
                    ]
                return

    def _indexed(self, index: str, source_field: str, source: str) -> int:
        from opensearchpy.exceptions import NotFoundError, RequestError

        if not self.catalog.readable_index(index):
            raise _NotReadableError(f"index {index!r} {NOT_CONCRETE}; the page does not read it")
        client = self.catalog.client()
        for candidate in (f"{source_field}.keyword", source_field):  # dynamic mapping, or a keyword field
            try:
                count = int(client.count(index=index, body={"query": {"term": {candidate: source}}})["count"])
            except NotFoundError:
                return 0
            except RequestError:
                continue
            if count:
                return count
        return 0

    def _tail(self, topic: str, source_field: str) -> DeadLetterTail:
        evicted: list[DeadLetterTail] = []
        with self._lock:
            tail = self._tails.get(topic)
            if tail is None:
                self.settings.kafka.client_config()  # raises ConfigError when Kafka is not configured
                tail = self._tails[topic] = DeadLetterTail(
                    self.settings.kafka, topic, source_field, self._versions
                )
                while len(self._tails) > MAX_DEAD_LETTER_READERS:
                    evicted.append(self._tails.popitem(last=False)[1])
            self._tails.move_to_end(topic)
        for old in evicted:  # outside the lock: closing waits for the reader's thread
            log.info("topic=%s event=dead_letter_reader_closed reason=readers_limit", old.topic)
            old.close()
        return tail

    @property
    def versions(self) -> LatestVersion:
        """The version history dead letters are measured against (the card's counts and the download)."""
        return self._versions

    @property
    def readers(self) -> int:
        """Dead-letter readers open now (at most :data:`MAX_DEAD_LETTER_READERS`)."""
        with self._lock:
            return len(self._tails)
