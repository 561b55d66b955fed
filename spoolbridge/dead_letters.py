"""``spoolbridge dlq list|replay``: dead letters people can act on.

``list`` reads every dataset's dead-letter topic from its start (nothing is committed) and groups the
letters by dataset and *reason class* — the reason with what differs from letter to letter (document ids,
field values) taken out — with a count, the first and last document id, and a suggested fix.

``replay`` re-publishes the original messages (key, value and original headers, plus
``spoolbridge-replayed-from``) to their dataset's topic, where the consumer indexes them again. It is
resumable: it keeps its place with committed offsets of its own consumer group, one per filter
(``<consumer.group>-replay[-<dataset>][-<reason hash>]``), committing only after the broker acknowledged
what it re-published — so a replay killed at any point and run again re-publishes at most the last
batch once more, and the same key and value indexed twice is still one document. Each run stops at the
end offsets it saw when it started, so letters that fail again are not replayed in a loop; the next
replay picks them up. Before re-publishing, the dataset's index body (settings and mappings) is applied
to the existing index, so fixing the body — a higher field limit, a mapping — takes effect.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from schemas.connect_letters import connect_letter
from schemas.datasets import Dataset, Datasets
from schemas.dlq import HEADER_PREFIX
from schemas.errors import ServiceUnavailableError
from schemas.letter_ledger import is_replay_mark, letter_identity, replay_mark_headers, settles
from schemas.names import dataset_name_problem
from schemas.settings import Settings

__all__ = ["DeadLetterGroup", "ReasonClass", "ReplayResult", "classify_reason", "list_dead_letters", "replay"]

log = logging.getLogger(__name__)

REPLAYED_FROM = "spoolbridge-replayed-from"
_BATCH = 1000
_TIMEOUT_SECS = 10.0


@dataclass(frozen=True, slots=True)
class ReasonClass:
    """What a group of dead letters has in common, and what to do about it."""

    label: str
    fix: str


_FIELD_NAME = re.compile(r"(?:field|mapper) \[([^\]]+)\]")


def classify_reason(error_type: str, reason: str, dataset: str = "<dataset>") -> ReasonClass:
    """The reason class of one dead letter (pure; the table of common reasons and their fixes)."""
    body = f"datasets.{dataset}.index_body_file" if dataset != "(default)" else "opensearch.index_body_file"
    if "Limit of total fields" in reason:
        return ReasonClass(
            "field limit: the index has its maximum number of fields (index.mapping.total_fields.limit)",
            f"raise index.mapping.total_fields.limit in the index body ({body}), or map the wide object as "
            "flat_object there; then run `spoolbridge dlq replay`",
        )
    conflict = _FIELD_NAME.search(reason)
    if error_type in ("mapper_parsing_exception", "illegal_argument_exception") and conflict:
        return ReasonClass(
            f"type conflict on field {conflict.group(1)!r} ({error_type})",
            f"declare the field's type in a mapping in the index body ({body}) — e.g. keyword or text for "
            "mixed values — or fix the records; then run `spoolbridge dlq replay`",
        )
    if error_type in ("invalid_json", "not_an_object", "invalid_key", "missing_key"):
        return ReasonClass(
            f"invalid message ({error_type})",
            "the message is not a JSON object with a key: fix the record in its source file and drop the "
            "file again (replaying the same bytes fails the same way)",
        )
    generic = re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]", "…", reason)[:200]
    return ReasonClass(f"{error_type}: {generic}", "")


@dataclass
class DeadLetterGroup:
    dataset: str
    topic: str
    reason: str
    count: int = 0  # outstanding: documents whose latest dead-letter event is a letter of this class
    replayed: int = 0  # letters of this class a replay settled (history)
    first_id: str | None = None
    last_id: str | None = None
    fix: str = ""
    example: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReplayResult:
    dataset: str
    topic: str
    replayed: int = 0
    skipped: int = 0
    index_changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Letter:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    error_type: str
    reason: str
    partition: int
    offset: int
    is_mark: bool = False  # a replay mark (schemas.letter_ledger), not a letter


def dead_letter_topics(settings: Settings, only: str | None = None) -> list[tuple[Dataset, str]]:
    """(dataset, dead-letter topic) for every dataset that has one in the cluster (``only``: that one)."""
    from confluent_kafka.admin import AdminClient

    datasets = Datasets(settings)
    config: dict[str, Any] = {**settings.kafka.client_config(), "logger": log}
    admin = AdminClient(config)
    try:
        names = set(admin.list_topics(timeout=_TIMEOUT_SECS).topics)
    except Exception as exc:  # KafkaException: the cluster cannot be reached
        raise ServiceUnavailableError(
            f"Kafka at {settings.kafka.bootstrap_servers} cannot be reached ({exc}); check "
            "kafka.bootstrap_servers, or start the local stack with `spoolbridge stack up`"
        ) from None
    found: list[tuple[Dataset, str]] = []
    default = datasets.get(None)
    if default.dead_letter_topic in names:
        found.append((default, default.dead_letter_topic))
    prefix = f"{datasets.base_topic}."
    for name in sorted(names):
        if name.startswith(prefix) and name.endswith(".dlq"):
            dataset_name = name[len(prefix) : -len(".dlq")]
            if dataset_name_problem(dataset_name) is None:
                found.append((datasets.get(dataset_name), name))
    if only is not None:
        found = [(d, t) for d, t in found if d.label == only]
    return found


def topic_exists(settings: Settings, topic: str) -> bool:
    from confluent_kafka.admin import AdminClient

    config: dict[str, Any] = {**settings.kafka.client_config(), "logger": log}
    metadata = AdminClient(config).list_topics(topic, timeout=_TIMEOUT_SECS).topics.get(topic)
    return metadata is not None and metadata.error is None


def list_dead_letters(settings: Settings, dataset: str | None = None) -> list[DeadLetterGroup]:
    """Outstanding dead letters grouped by dataset and reason class, biggest groups first within a
    dataset; a document counts once however often it was dead-lettered, and letters a replay settled
    are counted apart (``replayed``; :mod:`schemas.letter_ledger`)."""
    groups: dict[tuple[str, str], DeadLetterGroup] = {}
    for ds, topic in dead_letter_topics(settings, dataset):
        latest: dict[bytes, tuple[_Letter, bool]] = {}  # identity → (its latest letter, outstanding)
        reader = LetterReader(settings, topic, group=None, marks=True)
        try:
            for letter in reader:
                identity = letter_identity(letter.key, letter.headers)
                if not letter.is_mark:
                    latest[identity] = (letter, True)
                elif identity in latest and settles(letter.headers, latest[identity][0].offset):
                    latest[identity] = (latest[identity][0], False)
        finally:
            reader.close()
        for letter, outstanding in latest.values():
            reason = classify_reason(letter.error_type, letter.reason, ds.label)
            group = groups.get((ds.label, reason.label))
            if group is None:
                group = groups[(ds.label, reason.label)] = DeadLetterGroup(
                    ds.label, topic, reason.label, fix=reason.fix, example=letter.reason[:300]
                )
            if not outstanding:
                group.replayed += 1
                continue
            key = letter.key.decode("utf-8", "replace") if letter.key else None
            group.count += 1
            group.first_id = group.first_id or key
            group.last_id = key
    return sorted(groups.values(), key=lambda g: (g.dataset, -g.count))


def replay_group(settings: Settings, dataset: Dataset, reason: str | None) -> str:
    """The consumer group a replay with this filter keeps its place in."""
    name = f"{settings.consumer.group}-replay-{dataset.name or 'default'}"
    if reason:
        name += "-" + hashlib.sha256(reason.encode()).hexdigest()[:12]
    return name


def replay(
    settings: Settings, *, dataset: str | None = None, reason: str | None = None, dry_run: bool = False
) -> list[ReplayResult]:
    """Re-publish dead letters (see the module docstring); ``reason`` keeps letters whose error type or
    reason contains it (case-insensitive)."""
    results: list[ReplayResult] = []
    for ds, topic in dead_letter_topics(settings, dataset):
        result = ReplayResult(ds.label, topic)
        if not dry_run:
            result.index_changes = _apply_index_body(settings, ds)
        _replay_topic(settings, ds, reason, dry_run=dry_run, result=result)
        results.append(result)
    return results


def _matches(letter: _Letter, reason: str | None) -> bool:
    if not reason:
        return True
    needle = reason.lower()
    return needle in letter.error_type.lower() or needle in letter.reason.lower()


def _replay_topic(
    settings: Settings, ds: Dataset, reason: str | None, *, dry_run: bool, result: ReplayResult
) -> None:
    """Re-publish the letters after the filter's committed offsets. Per batch, in this order: the copies
    are acknowledged by the broker, then the letters' replay marks (in the letters' own partitions, so
    after them), then the offsets are committed. A dry run reads from the same offsets and publishes and
    commits nothing, so it counts what a real run would replay."""
    topic = result.topic
    from confluent_kafka import Producer

    producer = None if dry_run else Producer(
        {**settings.kafka.client_config(), "enable.idempotence": True, "acks": "all", "logger": log}
    )  # fmt: skip
    reader = LetterReader(settings, topic, replay_group(settings, ds, reason))
    try:
        batch: list[_Letter] = []
        for letter in reader:
            if not _matches(letter, reason):
                result.skipped += 1
                continue
            result.replayed += 1
            if producer is None:
                continue
            headers = [(k, v) for k, v in letter.headers if not k.startswith(HEADER_PREFIX)]
            headers.append((REPLAYED_FROM, f"{topic}/{letter.partition}/{letter.offset}".encode()))
            _produce(producer, ds.topic, letter, headers)
            batch.append(letter)
            if len(batch) >= _BATCH:
                _settle_batch(producer, reader, topic, batch)
                batch = []
        if producer is not None:
            _settle_batch(producer, reader, topic, batch)
    finally:
        reader.close()


def _settle_batch(producer: Any, reader: LetterReader, topic: str, batch: list[_Letter]) -> None:
    _acknowledged(producer)  # every copy is in the dataset's topic
    for letter in batch:
        _produce_mark(producer, topic, letter)
    _acknowledged(producer)
    reader.commit()  # everything read so far is replayed and marked


def _produce_mark(producer: Any, topic: str, letter: _Letter) -> None:
    headers = replay_mark_headers(letter.headers, letter.partition, letter.offset)
    while True:
        try:
            producer.produce(topic, key=letter.key, value=None, headers=headers, partition=letter.partition)
            return
        except BufferError:
            producer.poll(0.1)


def _produce(producer: Any, topic: str, letter: _Letter, headers: list[tuple[str, bytes | None]]) -> None:
    while True:
        try:
            producer.produce(topic, key=letter.key, value=letter.value, headers=headers)
            return
        except BufferError:
            producer.poll(0.1)


def _acknowledged(producer: Any) -> None:
    """Wait until the broker has every message re-published so far; raise if it does not take them."""
    if producer.flush(60) > 0:
        raise ServiceUnavailableError(
            "Kafka did not acknowledge the replayed messages within 60 s; nothing after the last "
            "acknowledged batch was committed: run the replay again"
        )


class LetterReader:
    """The letters of a dead-letter topic, from a group's committed offsets (or the start) up to the end
    offsets seen when reading starts. With a ``group``, :meth:`commit` stores the position after the last
    letter handed out; without one nothing is ever committed. Replay marks are handed out only with
    ``marks``."""

    def __init__(self, settings: Settings, topic: str, group: str | None, *, marks: bool = False) -> None:
        from confluent_kafka import Consumer

        self.topic = topic
        self.group = group
        self.marks = marks
        self._positions: dict[int, int] = {}
        self._consumer = Consumer(
            {
                **settings.kafka.client_config(),
                "group.id": group or "spoolbridge-dlq-list",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "logger": log,
            }
        )

    def __iter__(self) -> Iterator[_Letter]:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        consumer, topic = self._consumer, self.topic
        metadata = consumer.list_topics(topic, timeout=_TIMEOUT_SECS).topics[topic]
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        starts = consumer.committed(partitions, timeout=_TIMEOUT_SECS) if self.group else partitions
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=_TIMEOUT_SECS) for p in partitions}
        assignment = []
        for p in starts:
            low, high = ends[p.partition]
            start = p.offset if self.group and p.offset >= 0 else low
            self._positions[p.partition] = start
            if high > start:
                assignment.append(
                    TopicPartition(topic, p.partition, start if start > 0 else OFFSET_BEGINNING)
                )
        remaining = {p.partition for p in assignment}
        consumer.assign(assignment)
        while remaining:
            # consume() waits its whole timeout for fewer messages than asked: ask for what is left
            left = sum(ends[p][1] - self._positions[p] for p in remaining)
            batch = consumer.consume(max(1, min(500, left)), _TIMEOUT_SECS)
            if not batch:
                raise ServiceUnavailableError(
                    f"reading {topic} stalled (no message within {_TIMEOUT_SECS:g} s); check Kafka and retry"
                )
            for message in batch:
                partition, offset = message.partition() or 0, message.offset() or 0
                if message.error() is not None or partition not in remaining:
                    continue
                letter = _letter(message, partition, offset)
                if self.marks or not letter.is_mark:
                    yield letter
                self._positions[partition] = offset + 1
                if offset + 1 >= ends[partition][1]:
                    remaining.discard(partition)

    def commit(self) -> None:
        from confluent_kafka import TopicPartition

        if self.group and self._positions:
            offsets = [TopicPartition(self.topic, p, o) for p, o in self._positions.items()]
            self._consumer.commit(offsets=offsets, asynchronous=False)

    def close(self) -> None:
        self._consumer.close()


def _letter(message: Any, partition: int, offset: int) -> _Letter:
    from pydantic import ValidationError

    from schemas.dlq import DeadLetterHeaders

    headers = list(message.headers() or [])
    if is_replay_mark(message.value(), headers):
        return _Letter(message.key(), None, headers, "", "", partition, offset, is_mark=True)
    try:
        meta = DeadLetterHeaders.from_kafka_headers(headers)
        error_type, why = meta.error_type, meta.reason
    except ValidationError:  # not written by spoolbridge: Kafka Connect's (schemas.connect_letters)?
        connect = connect_letter(headers)
        error_type, why = (
            (connect.error_type, connect.reason) if connect else ("unknown", "no spoolbridge-dlq headers")
        )
    return _Letter(message.key(), message.value(), headers, error_type, why, partition, offset)


def _apply_index_body(settings: Settings, ds: Dataset) -> list[str]:
    """Apply the dataset's index body to its existing index; return what changed (for the report)."""
    from consumer.index import apply_index_body
    from consumer.send import make_client

    opensearch = settings.opensearch.model_copy(update={"index_body_file": ds.index_body_file})
    client = make_client(opensearch.client_kwargs())
    try:
        return apply_index_body(client, ds.index, opensearch)
    finally:
        client.close()


def print_groups(groups: list[DeadLetterGroup]) -> None:
    """Plain text, one block per group (readable at 80 columns and when piped)."""
    if not groups:
        print("no dead letters")
        return
    for group in groups:
        replayed = f", {group.replayed} replayed before" if group.replayed else ""
        letters = f"{group.count} dead letter{'s' if group.count != 1 else ''}"
        print(f"{group.dataset}: {letters} outstanding{replayed} ({group.topic})")
        print(f"  reason: {group.reason}")
        if group.count:
            print(f"  ids:    {group.first_id} … {group.last_id}")
        if group.fix and group.count:
            print(f"  fix:    {group.fix}")


def print_replay(results: list[ReplayResult], *, dry_run: bool) -> None:
    if not results:
        print("no dead-letter topics: nothing to replay")
    verb = "would replay" if dry_run else "replayed"
    for result in results:
        for change in result.index_changes:
            print(f"{result.dataset}: {change}")
        skipped = f" ({result.skipped} did not match --reason)" if result.skipped else ""
        print(f"{result.dataset}: {verb} {result.replayed} from {result.topic}{skipped}")
