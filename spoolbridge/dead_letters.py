"""``spoolbridge dlq list|replay``: dead letters people can act on.

``list`` reads every dataset's dead-letter topic from its start (nothing is committed) and groups the
letters by dataset and *reason class* — the reason with what differs from letter to letter (document ids,
field values) taken out — with a count, the first and last document id, and a suggested fix.

``replay`` re-publishes what is **outstanding** — each document's latest letter, unless a replay mark
settled it or a newer version of its file settled since (superseded: :mod:`schemas.letter_ledger`) — with
its original key, value and headers plus ``spoolbridge-replayed-from``, to its dataset's topic, where the
consumer indexes it again. Older letters of the same id are never sent (an older record would overwrite
the newer one), nor superseded ones (they would overwrite a newer version's document or bring back one
that version deleted). The selection reads the whole dead-letter topic, up to the end offsets seen when
the run starts (letters that fail again are not replayed in a loop; the next replay picks them up), so
``--dry-run`` counts exactly what a real run would send. Per batch, the copies are acknowledged by the
broker before their replay marks are written: a replay killed at any point and run again skips every
letter whose mark was written and sends at most the last batch's copies once more (the same key and
value: one document per id, counted once). Before re-publishing, the dataset's index body (settings and
mappings) is applied to the existing index, so fixing the body — a higher field limit, a mapping — takes
effect.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from schemas.connect_letters import connect_letter, original_headers
from schemas.datasets import Dataset, Datasets
from schemas.dlq import HEADER_PREFIX
from schemas.errors import ServiceUnavailableError
from schemas.letter_ledger import (
    LatestVersion,
    LetterState,
    OutstandingLetters,
    is_replay_mark,
    letter_identity,
    no_history,
    replay_mark_headers,
)
from schemas.names import dataset_name_problem
from schemas.settings import Settings

__all__ = [
    "DeadLetterGroup",
    "ReasonClass",
    "ReplayResult",
    "classify_reason",
    "list_dead_letters",
    "replay",
    "select_replay",
]

log = logging.getLogger(__name__)

REPLAYED_FROM = "spoolbridge-replayed-from"
_BATCH = 1000
_TIMEOUT_SECS = 10.0
_POLL_SECS = 0.2


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
    count: int = 0  # outstanding: documents whose latest letter is of this class, not replayed or superseded
    replayed: int = 0  # letters of this class a replay settled (history)
    first_id: str | None = None
    last_id: str | None = None
    fix: str = ""
    example: str = ""
    superseded: int = 0  # letters of this class a newer version of their file made moot (history)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReplayResult:
    dataset: str
    topic: str
    replayed: int = 0  # outstanding letters sent (a dry run: that would be sent)
    skipped: int = 0  # outstanding letters that did not match ``--reason``
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
    or a newer version of their file superseded are counted apart (:mod:`schemas.letter_ledger`)."""
    groups: dict[tuple[str, str], DeadLetterGroup] = {}
    latest_version = latest_versions(settings)
    for ds, topic in dead_letter_topics(settings, dataset):
        ledger, latest = _read_ledger(settings, topic, latest_version)
        for identity, letter in latest.items():
            tally(groups, ds.label, topic, letter, ledger.state(identity))
    return sorted(groups.values(), key=lambda g: (g.dataset, -g.count))


def tally(
    groups: dict[tuple[str, str], DeadLetterGroup],
    label: str,
    topic: str,
    letter: _Letter,
    state: LetterState | None,
) -> None:
    """Count a document's latest letter into its dataset's group of its reason class: outstanding (with
    the first and last id), replayed or superseded."""
    reason = classify_reason(letter.error_type, letter.reason, label)
    group = groups.get((label, reason.label))
    if group is None:
        group = groups[(label, reason.label)] = DeadLetterGroup(
            label, topic, reason.label, fix=reason.fix, example=letter.reason[:300]
        )
    if state == "replayed":
        group.replayed += 1
    elif state == "superseded":
        group.superseded += 1
    else:
        key = letter.key.decode("utf-8", "replace") if letter.key else None
        group.count += 1
        group.first_id = group.first_id or key
        group.last_id = key


def latest_versions(settings: Settings) -> LatestVersion:
    """The version history the letters are measured against: the inbox's, when this machine has it."""
    from .letter_versions import LatestVersions

    found = LatestVersions(settings.producer.inbox.absolute())
    return found if found.available else no_history


def _read_ledger(
    settings: Settings, topic: str, latest_version: LatestVersion
) -> tuple[OutstandingLetters, dict[bytes, _Letter]]:
    """The topic's ledger and each identity's latest letter, read from its start to its current end."""
    reader = LetterReader(settings, topic, marks=True)
    try:
        return _ledger_of(reader, latest_version)
    finally:
        reader.close()


def _ledger_of(
    letters: Iterable[_Letter], latest_version: LatestVersion
) -> tuple[OutstandingLetters, dict[bytes, _Letter]]:
    ledger = OutstandingLetters(latest_version)
    latest: dict[bytes, _Letter] = {}
    for letter in letters:
        ledger.add(letter.key, letter.value, letter.headers, letter.offset)
        if not letter.is_mark:
            latest[letter_identity(letter.key, letter.headers)] = letter
    return ledger, latest


def select_replay(
    letters: Iterable[_Letter], latest_version: LatestVersion, reason: str | None = None
) -> tuple[list[_Letter], int]:
    """What a replay sends (pure): of one dead-letter topic's messages in partition order, each outstanding
    document's latest letter matching ``reason``, in topic order; and how many outstanding letters did
    not match."""
    ledger, latest = _ledger_of(letters, latest_version)
    chosen: list[_Letter] = []
    skipped = 0
    for identity, letter in latest.items():
        if ledger.state(identity) != "outstanding":
            continue
        if _matches(letter, reason):
            chosen.append(letter)
        else:
            skipped += 1
    return sorted(chosen, key=lambda letter: (letter.partition, letter.offset)), skipped


def replay(
    settings: Settings, *, dataset: str | None = None, reason: str | None = None, dry_run: bool = False
) -> list[ReplayResult]:
    """Re-publish outstanding dead letters (see the module docstring); ``reason`` keeps letters whose
    error type or reason contains it (case-insensitive)."""
    results: list[ReplayResult] = []
    latest_version = latest_versions(settings)
    for ds, topic in dead_letter_topics(settings, dataset):
        result = ReplayResult(ds.label, topic)
        if not dry_run:
            result.index_changes = _apply_index_body(settings, ds)
        _replay_topic(settings, ds, reason, latest_version, dry_run=dry_run, result=result)
        results.append(result)
    return results


def _matches(letter: _Letter, reason: str | None) -> bool:
    if not reason:
        return True
    needle = reason.lower()
    return needle in letter.error_type.lower() or needle in letter.reason.lower()


def _replay_topic(
    settings: Settings,
    ds: Dataset,
    reason: str | None,
    latest_version: LatestVersion,
    *,
    dry_run: bool,
    result: ReplayResult,
) -> None:
    """Re-publish the topic's selection (:func:`select_replay`) to the dataset's topic
    (:func:`republish`). A dry run makes the same selection and publishes nothing."""
    reader = LetterReader(settings, result.topic, marks=True)
    try:
        chosen, result.skipped = select_replay(reader, latest_version, reason)
    finally:
        reader.close()
    result.replayed = len(chosen)
    if not dry_run:
        republish(settings, result.topic, [(ds.topic, letter) for letter in chosen])


def republish(settings: Settings, topic: str, copies: list[tuple[str, _Letter]]) -> None:
    """Send each letter of dead-letter ``topic`` again to its destination topic (original key and value,
    the original record's headers: :func:`copy_headers`), in batches. Per batch, in this order: every copy
    is acknowledged by the broker, then the letters' replay marks are written to ``topic`` (in the
    letters' own partitions, so after them); a mark is never written for a copy the broker may not have."""
    if not copies:
        return
    from confluent_kafka import Producer

    producer = Producer(
        {**settings.kafka.client_config(), "enable.idempotence": True, "acks": "all", "logger": log}
    )
    for start in range(0, len(copies), _BATCH):
        batch = copies[start : start + _BATCH]
        for destination, letter in batch:
            _produce(producer, destination, letter, copy_headers(topic, letter))
        _settle_batch(producer, topic, [letter for _, letter in batch])


def copy_headers(topic: str, letter: _Letter) -> list[tuple[str, bytes | None]]:
    """A replayed copy's headers: the original record's (the dead-letter headers, spoolbridge's and Kafka
    Connect's, taken off) and where the copy comes from."""
    kept = [(k, v) for k, v in original_headers(letter.headers) if not k.startswith(HEADER_PREFIX)]
    return [*kept, (REPLAYED_FROM, f"{topic}/{letter.partition}/{letter.offset}".encode())]


def _settle_batch(producer: Any, topic: str, batch: list[_Letter]) -> None:
    """Mark a batch replayed only once the broker has every copy: a mark of a copy that was lost would
    hide a letter that is still owed."""
    _acknowledged(producer)  # every copy is in the dataset's topic
    for letter in batch:
        _produce_mark(producer, topic, letter)
    _acknowledged(producer)


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
            "Kafka did not acknowledge the replayed messages within 60 s; letters after the last "
            "acknowledged batch were not marked replayed: run the replay again"
        )


class LetterReader:
    """The messages of a dead-letter topic, from its start up to the end offsets seen when reading starts;
    nothing is ever committed. Replay marks are handed out only with ``marks``."""

    def __init__(self, settings: Settings, topic: str, *, marks: bool = False) -> None:
        from confluent_kafka import Consumer

        self.topic = topic
        self.marks = marks
        self._consumer = Consumer(
            {
                **settings.kafka.client_config(),
                "group.id": "spoolbridge-dlq-list",
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
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=_TIMEOUT_SECS) for p in partitions}
        assignment = [
            TopicPartition(topic, number, OFFSET_BEGINNING)
            for number, (low, high) in ends.items()
            if high > low
        ]
        remaining = {p.partition for p in assignment}
        consumer.assign(assignment)
        stalled_at = time.monotonic() + _TIMEOUT_SECS
        while remaining:
            # consume() waits its whole timeout unless it fills the batch: short waits, one stall deadline
            batch = consumer.consume(500, _POLL_SECS)
            if not batch:
                if time.monotonic() > stalled_at:
                    raise ServiceUnavailableError(
                        f"reading {topic} stalled (no message within {_TIMEOUT_SECS:g} s); check Kafka and "
                        "retry"
                    )
                continue
            stalled_at = time.monotonic() + _TIMEOUT_SECS
            for message in batch:
                partition, offset = message.partition() or 0, message.offset() or 0
                if message.error() is not None or partition not in remaining:
                    continue
                letter = _letter(message, partition, offset)
                if self.marks or not letter.is_mark:
                    yield letter
                if offset + 1 >= ends[partition][1]:
                    remaining.discard(partition)

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
        superseded = (
            f", {group.superseded} superseded by a newer version of their file" if group.superseded else ""
        )
        letters = f"{group.count} dead letter{'s' if group.count != 1 else ''}"
        print(f"{group.dataset}: {letters} outstanding{replayed}{superseded} ({group.topic})")
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
