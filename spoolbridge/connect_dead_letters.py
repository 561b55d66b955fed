"""``spoolbridge dlq list|replay --connect-dlq TOPIC``: Kafka Connect's dead letters, per dataset.

Kafka Connect writes the letters of every dataset the connector reads to one topic of its own
(``<name>.dlq``, as ``spoolbridge connect-config`` prints), with its ``__connect.errors.*`` headers
(:mod:`schemas.connect_letters`). ``list`` groups them by the dataset of their original topic and by
reason class, as :mod:`spoolbridge.dead_letters` does for the consumer's letters; ``replay`` re-publishes
each to its original topic with its original key, value and headers (spoolbridge's own included: Connect
kept them), plus ``spoolbridge-replayed-from``, where the connector indexes it again. The selection, the
order and the resumability are those of :func:`spoolbridge.dead_letters.select_replay` and
``_replay_topic``: each outstanding document's latest letter only; copies acknowledged, then the replay
marks (in the Connect topic, the letters' own partitions).
"""

from __future__ import annotations

import logging

from schemas.connect_letters import connect_letter
from schemas.datasets import Dataset, Datasets
from schemas.letter_ledger import OutstandingLetters
from schemas.settings import Settings

from .dead_letters import (
    DeadLetterGroup,
    LetterReader,
    ReplayResult,
    _apply_index_body,
    _Letter,
    _matches,
    _read_ledger,
    latest_versions,
    republish,
    select_replay,
    tally,
    topic_exists,
)

__all__ = ["count_connect_letters", "list_connect_letters", "replay_connect_letters"]

log = logging.getLogger(__name__)


def _dataset_of(datasets: Datasets, letter: _Letter) -> Dataset | None:
    found = connect_letter(letter.headers)
    return datasets.of_topic(found.topic) if found is not None else None


def _label_of(datasets: Datasets, letter: _Letter) -> str:
    ds = _dataset_of(datasets, letter)
    if ds is not None:
        return ds.label
    found = connect_letter(letter.headers)
    return f"(topic {found.topic if found else '?'})"


def _read_all(settings: Settings, topic: str) -> list[_Letter]:
    reader = LetterReader(settings, topic, marks=True)
    try:
        return list(reader)
    finally:
        reader.close()


def list_connect_letters(settings: Settings, topic: str, dataset: str | None = None) -> list[DeadLetterGroup]:
    """Outstanding letters of Kafka Connect's dead-letter ``topic`` grouped by the dataset of their original
    topic and by reason class (``dataset``: only that one); letters that name no dataset of ours are
    grouped under their original topic."""
    if not topic_exists(settings, topic):
        return []
    datasets = Datasets(settings)
    ledger, latest = _read_ledger(settings, topic, latest_versions(settings))
    groups: dict[tuple[str, str], DeadLetterGroup] = {}
    for identity, letter in latest.items():
        label = _label_of(datasets, letter)
        if dataset is not None and label != dataset:
            continue
        tally(groups, label, topic, letter, ledger.state(identity))
    return sorted(groups.values(), key=lambda g: (g.dataset, -g.count))


def replay_connect_letters(
    settings: Settings,
    topic: str,
    *,
    dataset: str | None = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> list[ReplayResult]:
    """Re-publish Connect's outstanding dead letters to their original topics (see the module docstring),
    one result per dataset; ``dataset`` and ``reason`` filter as ``dlq replay`` does. A letter whose
    original topic is no dataset of ours is skipped (counted, and logged once per topic)."""
    if not topic_exists(settings, topic):
        return []
    datasets = Datasets(settings)
    chosen, _ = select_replay(_read_all(settings, topic), latest_versions(settings))
    results: dict[str, ReplayResult] = {}
    sending: list[tuple[Dataset, _Letter]] = []
    for letter in chosen:
        ds = _dataset_of(datasets, letter)
        if ds is None:
            _result(results, "(not a dataset)", topic).skipped += 1
            log.warning("dead letter names no dataset topic=%s offset=%d", topic, letter.offset)
            continue
        if dataset is not None and ds.label != dataset:
            continue
        result = _result(results, ds.label, topic)
        if not _matches(letter, reason):
            result.skipped += 1
            continue
        result.replayed += 1
        sending.append((ds, letter))
    if not dry_run:
        for ds in {ds.label: ds for ds, _ in sending}.values():  # before its first copy: a fixed body
            results[ds.label].index_changes = _apply_index_body(settings, ds)
        republish(settings, topic, [(ds.topic, letter) for ds, letter in sending])
    return [results[label] for label in sorted(results)]


def _result(results: dict[str, ReplayResult], label: str, topic: str) -> ReplayResult:
    if label not in results:
        results[label] = ReplayResult(label, topic)
    return results[label]


def count_connect_letters(settings: Settings, topic: str, dataset_topic: str) -> OutstandingLetters:
    """The ledger (:class:`OutstandingLetters`, by source file) of the letters and replay marks in Kafka
    Connect's dead-letter ``topic`` whose original topic is ``dataset_topic``; empty when ``topic`` does
    not exist yet (Connect creates it with its first letter)."""
    ledger = OutstandingLetters(latest_versions(settings))
    if not topic_exists(settings, topic):
        return ledger
    for letter in _read_all(settings, topic):
        found = connect_letter(letter.headers)
        if found is not None and found.topic == dataset_topic:
            ledger.add(letter.key, letter.value, letter.headers, letter.offset)
    return ledger
