"""Outstanding dead letters (schemas/letter_ledger.py): a replay settles a letter, duplicates count once, a
newer settled version of the letter's file supersedes it."""

from __future__ import annotations

import pytest

from schemas.letter_ledger import OutstandingLetters, is_superseded, replay_mark_headers
from schemas.message import HEADER_FILE_SHA256, HEADER_SOURCE

Headers = list[tuple[str, bytes | None]]


def _letter_headers(source: str, original_offset: int, sha256: str = "v1") -> Headers:
    return [
        (HEADER_SOURCE, source.encode()),
        (HEADER_FILE_SHA256, sha256.encode()),
        ("spoolbridge-dlq-error-type", b"mapper_parsing_exception"),
        ("spoolbridge-dlq-topic", b"t"),
        ("spoolbridge-dlq-partition", b"0"),
        ("spoolbridge-dlq-offset", str(original_offset).encode()),
    ]


def _counts(ledger: OutstandingLetters, source: str) -> tuple[int, int, int]:
    return ledger.history[source], ledger.outstanding[source], ledger.replayed[source]


def test_a_letter_written_twice_by_a_killed_consumer_counts_once() -> None:
    ledger = OutstandingLetters()
    ledger.add(b"a.json:1", b"{}", _letter_headers("a.json", 7), offset=0)
    ledger.add(b"a.json:2", b"{}", _letter_headers("a.json", 8), offset=1)
    ledger.add(b"a.json:1", b"{}", _letter_headers("a.json", 7), offset=2)  # again after the restart
    assert _counts(ledger, "a.json") == (3, 2, 0)


def test_a_replay_mark_settles_the_letter_it_names_and_keeps_the_history() -> None:
    ledger = OutstandingLetters()
    headers = _letter_headers("a.json", 7)
    ledger.add(b"a.json:1", b"{}", headers, offset=4)
    ledger.add(b"a.json:2", b"{}", _letter_headers("a.json", 8), offset=5)
    ledger.add(b"a.json:1", None, replay_mark_headers(headers, 0, 4), offset=6)
    assert _counts(ledger, "a.json") == (2, 1, 1)


def test_a_letter_that_failed_again_before_its_mark_was_written_stays_outstanding() -> None:
    ledger = OutstandingLetters()
    headers = _letter_headers("a.json", 7)
    ledger.add(b"a.json:1", b"{}", headers, offset=4)
    ledger.add(b"a.json:1", b"{}", _letter_headers("a.json", 90), offset=5)  # the copy failed again
    ledger.add(b"a.json:1", None, replay_mark_headers(headers, 0, 4), offset=6)  # the mark of offset 4
    assert _counts(ledger, "a.json") == (2, 1, 0)
    ledger.add(b"a.json:1", None, replay_mark_headers(headers, 0, 5), offset=7)  # a second replay
    assert _counts(ledger, "a.json") == (2, 0, 1)


def test_letters_without_a_key_are_told_apart_by_their_original_offset() -> None:
    ledger = OutstandingLetters()
    first, second = _letter_headers("b.jsonl", 1), _letter_headers("b.jsonl", 2)
    ledger.add(None, b"not json", first, offset=0)
    ledger.add(None, b"not json", second, offset=1)
    ledger.add(None, b"not json", first, offset=2)  # the same one again
    assert _counts(ledger, "b.jsonl") == (3, 2, 0)
    ledger.add(None, None, replay_mark_headers(second, 0, 1), offset=3)
    assert _counts(ledger, "b.jsonl") == (3, 1, 1)


def test_a_mark_without_its_letter_counts_nothing() -> None:  # the letter expired from the topic
    ledger = OutstandingLetters()
    ledger.add(b"gone", None, replay_mark_headers(_letter_headers("c.json", 1), 0, 0), offset=9)
    assert _counts(ledger, "c.json") == (0, 0, 0)


@pytest.mark.parametrize(
    ("letter", "latest", "superseded"),
    [
        ("v1", "v2", True),  # a newer version settled: it produced the id again or deleted it
        ("v2", "v2", False),  # the letter is of the latest version
        ("v1", None, False),  # no history (never settled, or read without the inbox): not known
        (None, "v2", False),  # a letter without the header (not written from a spoolbridge message)
    ],
)
def test_a_letter_is_superseded_only_by_a_different_settled_version(
    letter: str | None, latest: str | None, superseded: bool
) -> None:
    assert is_superseded(letter, latest) is superseded


def test_a_newer_settled_version_supersedes_the_letters_of_older_ones() -> None:
    versions = {"a.json": "v1"}
    ledger = OutstandingLetters(versions.get)
    ledger.add(b"a.json:1", b"{}", _letter_headers("a.json", 7, "v1"), offset=0)
    ledger.add(b"a.json:2", b"{}", _letter_headers("a.json", 8, "v1"), offset=1)
    assert (ledger.outstanding["a.json"], ledger.superseded["a.json"]) == (2, 0)
    versions["a.json"] = "v2"  # v2 settled (asked again at every figure, nothing to feed)
    ledger.add(b"a.json:2", b"{}", _letter_headers("a.json", 30, "v2"), offset=2)  # v2 refused id 2 too
    assert (ledger.outstanding["a.json"], ledger.superseded["a.json"]) == (1, 1)
    assert ledger.state(b"k:a.json:1") == "superseded"
    assert ledger.state(b"k:a.json:2") == "outstanding"
    assert ledger.history["a.json"] == 3


def test_a_replayed_letter_stays_replayed_when_a_newer_version_settles() -> None:
    versions = {"a.json": "v1"}
    ledger = OutstandingLetters(versions.get)
    headers = _letter_headers("a.json", 7, "v1")
    ledger.add(b"a.json:1", b"{}", headers, offset=0)
    ledger.add(b"a.json:1", None, replay_mark_headers(headers, 0, 0), offset=1)
    versions["a.json"] = "v2"
    assert ledger.state(b"k:a.json:1") == "replayed"
    assert (ledger.outstanding["a.json"], ledger.superseded["a.json"], ledger.replayed["a.json"]) == (0, 0, 1)
