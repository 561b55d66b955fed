"""What the outstanding-letter figures are measured against (spoolbridge/letter_versions.py) and which
topics the producer's gauge reads (spoolbridge/letters_gauge.py): pure, no network."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from producer.inbox.versions import Version, VersionHistory
from schemas.datasets import Datasets
from schemas.settings import load_settings
from spoolbridge.letter_versions import LatestVersions
from spoolbridge.letters_gauge import dataset_of_dead_letter_topic, dead_letter_subscription


def _record(inbox: Path, source: str, *shas: str) -> None:
    path = VersionHistory(inbox).folder / f"{source}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    versions = [Version(n, sha, 1, "done", "2026-01-01T00:00:00Z").as_dict() for n, sha in enumerate(shas, 1)]
    path.write_bytes(orjson.dumps({"source": source, "versions": versions}))


def test_the_latest_settled_version_is_read_again_when_its_history_changes(tmp_path: Path) -> None:
    latest = LatestVersions(tmp_path)
    assert not latest.available
    assert latest("games/a.jsonl") is None  # never settled
    _record(tmp_path, "games/a.jsonl", "v1")
    assert latest.available
    assert latest("games/a.jsonl") == "v1"
    _record(tmp_path, "games/a.jsonl", "v1", "v2")
    assert latest("games/a.jsonl") == "v2"


@pytest.mark.parametrize(
    ("topic", "label"),
    [
        ("t.dlq", "(default)"),
        ("t.games.dlq", "games"),
        ("t.games", None),  # a dataset's topic, not its dead letters
        ("t.Bad Name.dlq", None),
        ("other.games.dlq", None),
    ],
)
def test_the_gauge_names_each_dead_letter_topic_by_its_dataset(topic: str, label: str | None) -> None:
    datasets = Datasets(load_settings({"kafka": {"topic": "t"}}))
    assert dataset_of_dead_letter_topic(datasets, topic) == label


def test_the_gauge_subscribes_to_every_dead_letter_topic_and_no_dataset_topic() -> None:
    datasets = Datasets(load_settings({"kafka": {"topic": "t.x"}}))
    literal, pattern = dead_letter_subscription(datasets)
    assert literal == "t.x.dlq"
    matches = [
        name for name in ("t.x.games.dlq", "t.x.games", "t.xgames.dlq", "t.x.dlq") if re.match(pattern, name)
    ]
    assert matches == ["t.x.games.dlq"]
